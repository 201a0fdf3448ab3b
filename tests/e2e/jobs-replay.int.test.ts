/**
 * A job that fails every attempt shows in `nst jobs failed` with its reason; once the cause is
 * fixed, `nst jobs replay` runs it to completion. Replaying what is not failed changes nothing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchDeps, createFetchWorker, enqueueSourceTick, fetchJobOptions, loadSources, startPublisher, type Publisher } from '@nst/fetcher';
import { closeQueues, createQueues, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, waitForQueuesIdle, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { ROOT } from '../helpers';

const run = promisify(execFile);

describe('nst jobs failed / replay', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let publisher: Publisher;
  let connection: Redis;
  let queues: Queues;
  let worker: Worker;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    publisher = await startPublisher();
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    queues = createQueues({ connection, prefix: redis.prefix });
    const deps = createFetchDeps({
      env: {
        NST_OFFLINE: true, NST_PUBLISHER_URL: publisher.url, NST_QUEUE_PREFIX: redis.prefix, FETCH_USER_AGENT: 'nst-test/1.0',
        FETCH_CONNECT_TIMEOUT_MS: 2000, FETCH_MAX_REDIRECTS: 5, ROBOTS_CACHE_SECONDS: 60, FETCH_ATTEMPTS: 2, FETCH_BACKOFF_MS: 10,
      },
      pool: db.pool, queues, redis: connection, logger: createLogger({ service: 'test', level: 'silent' }), sources: await loadSources(db.pool), politeness: 'off',
    });
    worker = createFetchWorker(deps, { connection: createRedis(redis.url, { role: 'worker', name: redis.prefix }), prefix: redis.prefix, concurrency: 2, backoffMs: 10 });
  });
  afterAll(async () => {
    await worker.close();
    (worker.opts.connection as Redis).disconnect();
    await closeQueues(queues);
    connection.disconnect();
    await publisher.close();
    await redis.cleanup();
    await db.drop();
  });

  const nst = async (...args: string[]) => {
    const { stdout } = await run(`${ROOT}node_modules/.bin/tsx`, ['packages/cli/src/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix },
    });
    return stdout;
  };

  it('lists the failure with its reason, and replays it to completion once fixed', async () => {
    const source = (await loadSources(db.pool)).find((s) => s.key === 'bs-news')!;
    // Only the entry page: its links would be fetched too, which this test does not need.
    await db.pool.query(`UPDATE raw.source SET discovery = discovery || '{"links": "^/nothing$", "pages": "^/nothing$"}'::jsonb WHERE key = 'bs-news'`);
    publisher.setFault(new URL(source.url).host + new URL(source.url).pathname, { kind: 'status', status: 503 });
    const id = await enqueueSourceTick(queues, source, '2026-11-26T03:00:00.000Z', fetchJobOptions(2, 10));
    await waitForQueuesIdle([queues.fetch], { timeoutMs: 20_000 });
    expect(await (await queues.fetch.getJob(id))!.getState()).toBe('failed');

    const failed = await nst('jobs', 'failed', '--queue', 'fetch', '--json');
    const rows = failed.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toEqual([expect.objectContaining({ queue: 'fetch', id, name: 'fetch-source', subject: 'bs-news', attempts: 2, reason: expect.stringMatching(/HTTP 503/) })]);

    publisher.clearFaults();
    const replay = await nst('jobs', 'replay', '--queue', 'fetch', '--id', id);
    expect(replay).toContain(`${id}: replayed fetch-source (bs-news)`);
    expect(replay).toContain('replayed 1 of 1 job(s) on fetch');
    await waitForQueuesIdle([queues.fetch], { timeoutMs: 20_000 });
    expect(await (await queues.fetch.getJob(id))!.getState()).toBe('completed');
    const archived = await db.pool.query("SELECT count(*)::int AS n FROM raw.document WHERE source_key = 'bs-news'");
    expect(archived.rows[0].n).toBe(1);
    expect((await nst('jobs', 'failed', '--queue', 'fetch')).trim()).toBe('no failed jobs');
  });

  it('replaying a job that is not failed, or does not exist, says so and changes nothing', async () => {
    const [completed] = await queues.fetch.getCompleted(0, 0);
    const output = await nst('jobs', 'replay', '--queue', 'fetch', '--id', completed!.id!, 'no-such-job');
    expect(output).toContain(`${completed!.id}: is completed, not failed; nothing changed`);
    expect(output).toContain('no-such-job: no such job (removed or never existed); nothing changed');
    expect(output).toContain('replayed 0 of 2 job(s) on fetch');
    expect(await (await queues.fetch.getJob(completed!.id!))!.getState()).toBe('completed');
  });
});
