/**
 * Test harness for integration tests: each test file gets its own PostgreSQL database (migrated
 * and seeded) and its own BullMQ key prefix, and fails if it leaves a connection open.
 *
 * The servers come from `DATABASE_URL` / `REDIS_URL` when set (CI and dev machines run both
 * locally); otherwise `tests/global-setup.ts` starts them with testcontainers and provides the URLs.
 */
import { randomBytes } from 'node:crypto';
import type { Queue } from 'bullmq';
import { inject } from 'vitest';
import { createPool, type Pool } from '../db';
import { migrate } from '../migrate';
import { createRedis, waitForRedis } from '../redis';
import { applySeeds, loadSeeds } from '../seeds';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    redisUrl: string;
  }
}

/** The server URLs for this test run (environment first, else the containers of global setup). */
export function testServerUrls(): { databaseUrl: string; redisUrl: string } {
  return { databaseUrl: inject('databaseUrl'), redisUrl: inject('redisUrl') };
}

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  /** Close the harness pool, check nothing else is still connected, drop the database. */
  drop(): Promise<void>;
}

/** Options for {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /** Apply migrations; default true. */
  migrate?: boolean;
  /** Load seeds/ (implies migrate); default true. */
  seed?: boolean;
}

export function randomSuffix(): string {
  return randomBytes(5).toString('hex');
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const { databaseUrl } = testServerUrls();
  const name = `nst_test_${randomSuffix()}`;
  const admin = createPool(databaseUrl, { max: 1, applicationName: 'nst-test-admin' });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 4, applicationName: 'nst-test-harness' });
  if (options.migrate !== false || options.seed !== false) await migrate(pool);
  if (options.seed !== false) await applySeeds(pool, await loadSeeds());
  return {
    name,
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const adminPool = createPool(databaseUrl, { max: 1, applicationName: 'nst-test-admin' });
      try {
        // A connection closed just now may still be listed while its backend exits: give it a moment.
        let rows: Array<{ application_name: string }> = [];
        for (let poll = 0; poll < 20; poll += 1) {
          ({ rows } = await adminPool.query<{ application_name: string }>(
            'SELECT application_name FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [name],
          ));
          if (rows.length === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await adminPool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        if (rows.length > 0) {
          throw new Error(
            `test left ${rows.length} connection(s) open to ${name}: ${rows.map((r) => r.application_name || '?').join(', ')}`,
          );
        }
      } finally {
        await adminPool.end();
      }
    },
  };
}

export interface TestRedis {
  url: string;
  /** A fresh BullMQ prefix: this test's queues live under it and nowhere else. */
  prefix: string;
  /** Delete this test's keys and check no connection named after the prefix is still open. */
  cleanup(): Promise<void>;
}

export async function createTestRedis(): Promise<TestRedis> {
  const { redisUrl } = testServerUrls();
  const prefix = `nsttest-${randomSuffix()}`;
  return {
    url: redisUrl,
    prefix,
    async cleanup() {
      const client = createRedis(redisUrl, { name: 'nst-test-admin' });
      try {
        await waitForRedis(client);
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        if (keys.length > 0) await client.del(...keys);
        const clients = (await client.client('LIST')) as string;
        const open = clients.split('\n').filter((line) => line.includes(`name=${prefix}`));
        if (open.length > 0) throw new Error(`test left ${open.length} Redis connection(s) open under ${prefix}`);
      } finally {
        client.disconnect();
      }
    },
  };
}

/** Wait until none of `queues` has a waiting, active, delayed or prioritized job. */
export async function waitForQueuesIdle(
  queues: ReadonlyArray<Queue>,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  // Two consecutive idle polls: a job finishing may enqueue the next one in between.
  let idleStreak = 0;
  while (Date.now() < deadline) {
    let busy = 0;
    for (const queue of queues) {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      busy += Object.values(counts).reduce((sum, n) => sum + n, 0);
    }
    idleStreak = busy === 0 ? idleStreak + 1 : 0;
    if (idleStreak >= 2) return;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
  throw new Error(`queues not idle after ${options.timeoutMs ?? 60_000} ms`);
}
