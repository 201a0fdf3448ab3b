import { describe, expect, it } from 'vitest';
import { ConfigError } from '@nst/shared/errors';
import { loadEnv } from '@nst/shared/env';
import { NormalizerEnv } from './env';
import { AGGREGATE_DEBOUNCE_MS, AGGREGATE_MAX_DEBOUNCE_MS } from './jobs/normalize-document';

describe('NormalizerEnv', () => {
  it('works on a dev machine with nothing set: aggregate jobs wait the default delay', () => {
    const env = loadEnv(NormalizerEnv, {});
    expect(env.NORMALIZE_AGGREGATE_DELAY_MS).toBe(AGGREGATE_DEBOUNCE_MS);
    expect(env.NORMALIZE_AGGREGATE_MAX_DELAY_MS).toBe(AGGREGATE_MAX_DEBOUNCE_MS);
    expect(env.NORMALIZE_CONCURRENCY).toBe(32);
  });

  it('takes a delay of 0 (every change aggregated at once) up to ten minutes, and names a bad one', () => {
    expect(loadEnv(NormalizerEnv, { NORMALIZE_AGGREGATE_MAX_DELAY_MS: '600000' }).NORMALIZE_AGGREGATE_MAX_DELAY_MS).toBe(600_000);
    expect(() => loadEnv(NormalizerEnv, { NORMALIZE_AGGREGATE_MAX_DELAY_MS: '600001' })).toThrow(/NORMALIZE_AGGREGATE_MAX_DELAY_MS/);
    expect(loadEnv(NormalizerEnv, { NORMALIZE_AGGREGATE_DELAY_MS: '0' }).NORMALIZE_AGGREGATE_DELAY_MS).toBe(0);
    expect(loadEnv(NormalizerEnv, { NORMALIZE_AGGREGATE_DELAY_MS: '600000' }).NORMALIZE_AGGREGATE_DELAY_MS).toBe(600_000);
    for (const bad of ['-1', '600001', 'soon']) {
      expect(() => loadEnv(NormalizerEnv, { NORMALIZE_AGGREGATE_DELAY_MS: bad })).toThrow(ConfigError);
      expect(() => loadEnv(NormalizerEnv, { NORMALIZE_AGGREGATE_DELAY_MS: bad })).toThrow(/NORMALIZE_AGGREGATE_DELAY_MS/);
    }
  });
});
