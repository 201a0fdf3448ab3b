import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Run `nst` as an operator would (without pnpm's own banner), returning exit code and output. */
async function nst(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join('node_modules/.bin/tsx'), ['packages/cli/src/main.ts', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const join = (path: string) => `${root}${path}`;

describe('nst CLI', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    redis = await createTestRedis();
    env = { DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix };
  });
  afterAll(async () => {
    await redis.cleanup();
    await db.drop();
  });

  it.each([
    ['REDIS_URL', 'nonsense', /^nst: invalid environment: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    ['DATABASE_URL', 'mysql://x@y/z', /^nst: invalid environment: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['LOG_LEVEL', 'loud', /^nst: invalid environment: LOG_LEVEL /],
  ])('%s=%s exits non-zero with one clear line', async (name, value, message) => {
    const result = await nst(['status'], { ...env, [name]: value });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('an unreachable Redis is one line naming it', async () => {
    const result = await nst(['status'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^nst: cannot reach Redis at 127.0.0.1:1 \(ECONNREFUSED\)/);
  });

  it('migrate applies, seeds, and a second run changes nothing', async () => {
    const first = await nst(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied 0001_/);
    expect(first.stdout).toMatch(/seeds: 13 indicators, \d+ sources, \d+ targets \([1-9]\d* rows changed\)/);
    const second = await nst(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/migrations: up to date/);
    expect(second.stdout).toMatch(/\(0 rows changed\)/);
  });

  it('status prints every queue', async () => {
    await nst(['migrate'], env);
    const result = await nst(['status'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const queue of ['fetch', 'normalize', 'aggregate']) expect(result.stdout).toContain(queue);
  });
});
