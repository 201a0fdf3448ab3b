import { describe, expect, it } from 'vitest';
import { ConfigError } from '@nst/shared/errors';
import { loadEnv } from '@nst/shared/env';
import { FetcherEnv } from './env';

describe('FetcherEnv', () => {
  it('sends an ASCII User-Agent by default, and refuses one that is not a valid header value, naming the variable', () => {
    expect(loadEnv(FetcherEnv, {}).FETCH_USER_AGENT).toMatch(/^nst-tracker\/[\x20-\x7e]+$/);
    expect(loadEnv(FetcherEnv, { FETCH_USER_AGENT: 'acme-bot/2.0 (+mailto:ops@example.org)' }).FETCH_USER_AGENT).toBe('acme-bot/2.0 (+mailto:ops@example.org)');
    for (const bad of ['nst-tracker/0.1 (North–South)', 'nst-tracker/0.1 (南北转型)', 'nst-tracker/0.1\r\nX-Injected: 1']) {
      expect(() => loadEnv(FetcherEnv, { FETCH_USER_AGENT: bad })).toThrow(ConfigError);
      expect(() => loadEnv(FetcherEnv, { FETCH_USER_AGENT: bad })).toThrow(/FETCH_USER_AGENT/);
    }
  });
});
