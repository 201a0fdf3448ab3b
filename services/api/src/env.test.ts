import { describe, expect, it } from 'vitest';
import { ConfigError } from '@nst/shared/errors';
import { loadEnv } from '@nst/shared/env';
import { ApiEnv } from './env';

describe('ApiEnv', () => {
  it('connects as nst_reader to the DATABASE_URL database by default', () => {
    const env = loadEnv(ApiEnv, { DATABASE_URL: 'postgres://nst:secret@db.internal:5433/nst' });
    expect(env.API_DATABASE_URL).toBe('postgres://nst_reader@db.internal:5433/nst');
    expect(env.PORT).toBe(9104);
    expect(env.API_HOST).toBe('0.0.0.0');
  });

  it('works on a dev machine with nothing set', () => {
    expect(loadEnv(ApiEnv, {}).API_DATABASE_URL).toBe('postgres://nst_reader@127.0.0.1:5432/test');
  });

  it('takes an explicit API_DATABASE_URL as it is', () => {
    const url = 'postgres://nst_reader:a-long-password@db:5432/nst';
    expect(loadEnv(ApiEnv, { API_DATABASE_URL: url }).API_DATABASE_URL).toBe(url);
  });

  it('names the bad variables without echoing a URL', () => {
    let caught: unknown;
    try {
      loadEnv(ApiEnv, { API_DATABASE_URL: 'mysql://nst_reader:hunter2@db/nst', PORT: '70000' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toMatch(/API_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect((caught as Error).message).toMatch(/PORT /);
    expect((caught as Error).message).not.toContain('hunter2');
  });
});
