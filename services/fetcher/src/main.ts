/**
 * The fetcher service: the fetch worker, the cron scheduler and the ops HTTP server, wired from
 * the environment, with a graceful shutdown on SIGTERM/SIGINT (no new jobs; in-flight jobs get
 * SHUTDOWN_GRACE_SECONDS to finish, then the process closes anyway and BullMQ hands them back).
 */
import { createPool } from '@nst/shared/db';
import { ConfigError } from '@nst/shared/errors';
import { closeQueues, createQueues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { checkReadiness, createServiceMetrics, startOpsServer } from '@nst/shared/ops';
import { createRedis } from '@nst/shared/redis';
import { readFetcherEnv, type FetcherEnv } from './env';
import { createFetchDeps } from './deps';
import { startScheduler } from './scheduler';
import { loadSources } from './sql/sources';
import { createFetchWorker, fetchJobOptions } from './worker';

async function main(env: FetcherEnv): Promise<void> {
  const logger = createLogger({ service: 'fetcher', level: env.LOG_LEVEL });
  const pool = createPool(env.DATABASE_URL, { max: Math.min(20, env.FETCH_CONCURRENCY + 2), applicationName: 'nst-fetcher' });
  const workerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: 'nst-fetcher-worker' });
  const producerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: 'nst-fetcher-producer' });
  const queues = createQueues({
    connection: producerConnection,
    prefix: env.NST_QUEUE_PREFIX,
    failedRetentionSeconds: env.NST_FAILED_RETENTION_DAYS * 86_400,
  });
  const metrics = createServiceMetrics('fetcher');
  const deps = { ...createFetchDeps({ env, pool, queues, redis: producerConnection, logger, sources: await loadSources(pool) }), metrics };
  const worker = createFetchWorker(deps, {
    connection: workerConnection,
    prefix: env.NST_QUEUE_PREFIX,
    concurrency: env.FETCH_CONCURRENCY,
    backoffMs: env.FETCH_BACKOFF_MS,
    metrics,
    lockDurationMs: env.NST_JOB_LOCK_MS,
  });
  const scheduler = env.SCHEDULER_ENABLED
    ? startScheduler({ queues, sources: await loadSources(pool), logger, jobOptions: fetchJobOptions(env.FETCH_ATTEMPTS, env.FETCH_BACKOFF_MS) })
    : undefined;
  const ops = await startOpsServer({
    port: env.PORT,
    registry: metrics.registry,
    ready: () => checkReadiness({ pool, redis: producerConnection, workerRunning: () => worker.isRunning() }),
  });
  logger.info({ port: ops.port, offline: env.NST_OFFLINE, concurrency: env.FETCH_CONCURRENCY }, 'fetcher started');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await scheduler?.stop();
    const forced = setTimeout(() => {
      logger.warn({ graceSeconds: env.SHUTDOWN_GRACE_SECONDS }, 'grace period over; closing with jobs in flight');
      void worker.close(true);
    }, env.SHUTDOWN_GRACE_SECONDS * 1000);
    await worker.close();
    clearTimeout(forced);
    await closeQueues(queues);
    await ops.close();
    workerConnection.disconnect();
    producerConnection.disconnect();
    await pool.end();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

try {
  await main(readFetcherEnv());
} catch (error) {
  process.stderr.write(`fetcher: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
