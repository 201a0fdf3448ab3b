/**
 * Helpers for the fetcher's integration tests: a fresh database and Redis prefix, the offline
 * publisher, and a fetch worker wired as the service wires it. Not used by the service itself.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeQueues, createQueues, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createServiceMetrics, type ServiceMetrics } from '@nst/shared/ops';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { createFetchDeps } from './deps';
import { startPublisher, type Publisher } from './publisher/server';
import { loadSources } from './sql/sources';
import { createFetchWorker } from './worker';

export interface FetcherHarness {
  db: TestDatabase;
  redis: TestRedis;
  publisher: Publisher;
  /** Queues on a connection of their own (enqueue, counts). */
  queues: Queues;
  worker: Worker;
  /** The worker's Prometheus metrics, as the service's /metrics serves them. */
  metrics: ServiceMetrics;
  /** Close the worker, queues, connections and publisher; drop the database and the prefix. */
  close(): Promise<void>;
}

/** Options for {@link startFetcherHarness}. */
export interface FetcherHarnessOptions {
  /** Names the test in the User-Agent and the logger. */
  name: string;
  /** FETCH_ATTEMPTS of the worker. */
  attempts: number;
  /** FETCH_MAX_POLITE_WAIT_MS of the worker; default the service's. */
  maxPoliteWaitMs?: number;
  /** ROBOTS_CACHE_SECONDS of the worker; default 60. */
  robotsCacheSeconds?: number;
}

export async function startFetcherHarness(options: FetcherHarnessOptions): Promise<FetcherHarness> {
  const db = await createTestDatabase();
  const redis = await createTestRedis();
  const publisher = await startPublisher();
  // Politeness is for real publishers; the test host answers as fast as it can.
  await db.pool.query(`UPDATE raw.source SET politeness = politeness || '{"minDelayMs": 0, "timeoutMs": 3000}'::jsonb`);
  const connection: Redis = createRedis(redis.url, { role: 'worker', name: redis.prefix });
  const workerConnection: Redis = createRedis(redis.url, { role: 'worker', name: redis.prefix });
  const queues = createQueues({ connection, prefix: redis.prefix });
  const deps = createFetchDeps({
    env: {
      NST_OFFLINE: true,
      NST_PUBLISHER_URL: publisher.url,
      NST_QUEUE_PREFIX: redis.prefix,
      FETCH_USER_AGENT: `nst-test/1.0 (+${options.name})`,
      FETCH_CONNECT_TIMEOUT_MS: 2000,
      FETCH_MAX_REDIRECTS: 5,
      ROBOTS_CACHE_SECONDS: options.robotsCacheSeconds ?? 60,
      FETCH_ATTEMPTS: options.attempts,
      FETCH_BACKOFF_MS: 20,
      FETCH_MAX_POLITE_WAIT_MS: options.maxPoliteWaitMs,
    },
    pool: db.pool,
    queues,
    redis: connection,
    logger: createLogger({ service: options.name, level: 'silent' }),
    sources: await loadSources(db.pool),
  });
  const metrics = createServiceMetrics('fetcher');
  const worker = createFetchWorker({ ...deps, metrics }, { connection: workerConnection, prefix: redis.prefix, concurrency: 4, backoffMs: 20, metrics });
  return {
    db,
    redis,
    publisher,
    queues,
    worker,
    metrics,
    async close() {
      await worker.close();
      await closeQueues(queues);
      connection.disconnect();
      workerConnection.disconnect();
      await publisher.close();
      await redis.cleanup();
      await db.drop();
    },
  };
}
