import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { boolVar, commonEnvShape, intVar, loadEnv } from './env';
import { ConfigError } from './errors';

const Env = z.object({ ...commonEnvShape, PORT: intVar(8080, 1, 65535), FLAG: boolVar(false) });

describe('loadEnv', () => {
  it('fills defaults that work on a dev machine', () => {
    const env = loadEnv(Env, {});
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/test');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.NST_QUEUE_PREFIX).toBe('nst');
    expect(env.PORT).toBe(8080);
    expect(env.FLAG).toBe(false);
  });

  it('treats an empty value as unset', () => {
    expect(loadEnv(Env, { REDIS_URL: '' }).REDIS_URL).toBe('redis://127.0.0.1:6379');
  });

  it('parses numbers and booleans', () => {
    const env = loadEnv(Env, { PORT: '9000', FLAG: 'yes' });
    expect(env.PORT).toBe(9000);
    expect(env.FLAG).toBe(true);
  });

  it('names every bad variable in one line, without echoing URLs', () => {
    let caught: unknown;
    try {
      loadEnv(Env, { REDIS_URL: 'nonsense', DATABASE_URL: 'postgres://u:secret@', PORT: '70000' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).toMatch(/PORT /);
    expect(message).not.toContain('secret');
  });
});
