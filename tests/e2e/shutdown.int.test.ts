/**
 * Graceful shutdown and crash recovery with real service processes: SIGTERM during a slow job lets
 * it finish; SIGKILL mid-job, then a restart, ends with the same tables as a clean run.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSourceTick, fetchJobOptions, loadSources, startPublisher, type Publisher } from '@nst/fetcher';
import { closeQueues, createQueues, enqueue, type Queues } from '@nst/shared/jobs';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, waitForQueuesIdle, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { eventually, freePort, pipelineChecksums, ROOT, runOfflineJob, sleep, startService, type ServiceProcess } from '../helpers';

describe('shutdown and crashes', () => {
  let publisher: Publisher;
  beforeAll(async () => {
    publisher = await startPublisher();
  });
  afterAll(async () => {
    await publisher.close();
  });

  async function setup(): Promise<{ db: TestDatabase; redis: TestRedis; connection: Redis; queues: Queues; env: Record<string, string> }> {
    const db = await createTestDatabase();
    const redis = await createTestRedis();
    await db.pool.query(`UPDATE raw.source SET politeness = politeness || '{"minDelayMs": 0}'::jsonb`);
    const connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    const queues = createQueues({ connection, prefix: redis.prefix });
    const env = {
      DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix, NST_OFFLINE: '1', NST_PUBLISHER_URL: publisher.url,
      SCHEDULER_ENABLED: '0', NST_JOB_LOCK_MS: '2000', FETCH_BACKOFF_MS: '100', LOG_LEVEL: 'info', SHUTDOWN_GRACE_SECONDS: '20',
    };
    return { db, redis, connection, queues, env };
  }
  async function teardown(s: Awaited<ReturnType<typeof setup>>, services: ServiceProcess[]) {
    for (const service of services) {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
      await service.exited;
    }
    await closeQueues(s.queues);
    s.connection.disconnect();
    await s.redis.cleanup();
    await s.db.drop();
  }
  const startFetcher = async (env: Record<string, string>) => {
    const service = startService('services/fetcher/src/main.ts', { ...env, PORT: String(await freePort()) });
    await service.waitForLine((l) => l.msg === 'fetcher started');
    return service;
  };

  it('SIGTERM during a slow fetch lets it finish, then exits 0', async () => {
    const s = await setup();
    const services: ServiceProcess[] = [];
    try {
      const fetcher = await startFetcher(s.env);
      services.push(fetcher);
      const source = (await loadSources(s.db.pool)).find((x) => x.key === 'bs-bulletin')!;
      const path = source.url.replace('https://', '');
      publisher.setFault(path, { kind: 'slow', delayMs: 2500 });
      const id = await enqueue(s.queues, 'fetch-source', { sourceKey: source.key, url: source.url, role: 'document', force: true, tick: 'sigterm' }, { jobId: 'sigterm', attempts: 1 });
      await eventually(async () => publisher.requests.some((r) => r.path === path), 10_000, 50);
      fetcher.child.kill('SIGTERM');
      expect(await fetcher.exited).toBe(0);
      expect(await (await s.queues.fetch.getJob(id))!.getState()).toBe('completed');
      const archived = await s.db.pool.query('SELECT count(*)::int AS n FROM raw.document WHERE url = $1', [source.url]);
      expect(archived.rows[0].n).toBe(1);
      expect(fetcher.lines.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      publisher.clearFaults();
      await teardown(s, services);
    }
  });

  it('SIGKILL mid-job, then a restart, leaves the tables as a clean run leaves them', async () => {
    // The clean run: the README's main job on its own database.
    const clean = await setup();
    let expected: Record<string, string>;
    try {
      await runOfflineJob({ databaseUrl: clean.db.url, redisUrl: clean.redis.url, prefix: clean.redis.prefix }, 240_000);
      expected = await pipelineChecksums(clean.db.pool);
    } finally {
      await teardown(clean, []);
    }

    const s = await setup();
    const services: ServiceProcess[] = [];
    const start = async (stage: 'fetcher' | 'normalizer' | 'aggregator') => {
      const service = startService(`services/${stage}/src/main.ts`, { ...s.env, PORT: String(await freePort()) });
      services.push(service);
      await service.waitForLine((l) => l.msg === `${stage} started`);
      return service;
    };
    try {
      // One article answers slowly, so a fetch is certainly in flight when the fetcher is killed.
      const slowPath = 'www.shbsq.gov.cn/shbs/bsyw/20240512/' ;
      let fetcher = await start('fetcher');
      let normalizer = await start('normalizer');
      await start('aggregator');
      const slow = publisher.requests.length;
      for (const source of (await loadSources(s.db.pool)).filter((x) => x.enabled)) {
        await enqueueSourceTick(s.queues, source, 'crash-run', fetchJobOptions(5, 100));
      }
      const slowArticle = (await import('node:fs')).readdirSync(`${ROOT}seeds/fixtures/sites/${slowPath}`)[0]!;
      publisher.setFault(`${slowPath}${slowArticle}`, { kind: 'slow', delayMs: 4000 });
      await eventually(async () => publisher.requests.slice(slow).some((r) => r.path === `${slowPath}${slowArticle}`), 60_000, 50);
      // Kill both workers while jobs are in flight (the slow fetch, and whatever the normalizer holds).
      fetcher.child.kill('SIGKILL');
      normalizer.child.kill('SIGKILL');
      await fetcher.exited;
      await normalizer.exited;
      publisher.clearFaults();
      await sleep(500);
      fetcher = await start('fetcher');
      normalizer = await start('normalizer');
      // A second crash of the normalizer in the middle of the backlog, for good measure.
      await sleep(300);
      normalizer.child.kill('SIGKILL');
      await normalizer.exited;
      normalizer = await start('normalizer');
      await waitForQueuesIdle([s.queues.fetch, s.queues.normalize, s.queues.aggregate], { timeoutMs: 120_000, pollMs: 500 });
      // The stalled jobs were handed back and completed: none failed.
      for (const queue of [s.queues.fetch, s.queues.normalize, s.queues.aggregate]) {
        expect((await queue.getFailed()).map((job) => `${queue.name} ${job.id}: ${job.failedReason}`)).toEqual([]);
      }
      expect(await pipelineChecksums(s.db.pool)).toEqual(expected);
    } finally {
      publisher.clearFaults();
      await teardown(s, services);
    }
  }, 400_000);
});
