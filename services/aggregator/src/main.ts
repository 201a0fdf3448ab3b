/**
 * The aggregator service: the aggregate worker and the ops HTTP server, with a graceful shutdown
 * on SIGTERM/SIGINT (no new jobs; in-flight ones get SHUTDOWN_GRACE_SECONDS to finish).
 */
import { createPool } from '@nst/shared/db';
import { ConfigError } from '@nst/shared/errors';
import { createLogger } from '@nst/shared/logger';
import { checkReadiness, createServiceMetrics, startOpsServer } from '@nst/shared/ops';
import { createRedis } from '@nst/shared/redis';
import { readAggregatorEnv, type AggregatorEnv } from './env';
import { createAggregateWorker } from './worker';

async function main(env: AggregatorEnv): Promise<void> {
  const logger = createLogger({ service: 'aggregator', level: env.LOG_LEVEL });
  const pool = createPool(env.DATABASE_URL, { max: env.AGGREGATE_CONCURRENCY + 2, applicationName: 'nst-aggregator' });
  const workerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: 'nst-aggregator-worker' });
  const producerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: 'nst-aggregator-health' });
  const metrics = createServiceMetrics('aggregator');
  const worker = createAggregateWorker(
    { pool, logger, metrics },
    { connection: workerConnection, prefix: env.NST_QUEUE_PREFIX, concurrency: env.AGGREGATE_CONCURRENCY, metrics, lockDurationMs: env.NST_JOB_LOCK_MS },
  );
  const ops = await startOpsServer({
    port: env.PORT,
    registry: metrics.registry,
    ready: () => checkReadiness({ pool, redis: producerConnection, workerRunning: () => worker.isRunning() }),
  });
  logger.info({ port: ops.port, concurrency: env.AGGREGATE_CONCURRENCY }, 'aggregator started');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => void worker.close(true), env.SHUTDOWN_GRACE_SECONDS * 1000);
    await worker.close();
    clearTimeout(forced);
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
  await main(readAggregatorEnv());
} catch (error) {
  process.stderr.write(`aggregator: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
