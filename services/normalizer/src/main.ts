/**
 * The normalizer service: the normalize worker and the ops HTTP server, with a graceful shutdown
 * on SIGTERM/SIGINT (no new jobs; in-flight ones get SHUTDOWN_GRACE_SECONDS to finish).
 */
import { createPool } from '@nst/shared/db';
import { ConfigError } from '@nst/shared/errors';
import { closeQueues, createQueues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { checkReadiness, createServiceMetrics, startOpsServer } from '@nst/shared/ops';
import { createRedis } from '@nst/shared/redis';
import { readNormalizerEnv, type NormalizerEnv } from './env';
import { createNormalizeWorker, loadCatalog } from './worker';

async function main(env: NormalizerEnv): Promise<void> {
  const logger = createLogger({ service: 'normalizer', level: env.LOG_LEVEL });
  const pool = createPool(env.DATABASE_URL, { max: env.NORMALIZE_CONCURRENCY + 2, applicationName: 'nst-normalizer' });
  const workerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: 'nst-normalizer-worker' });
  const producerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: 'nst-normalizer-producer' });
  const queues = createQueues({
    connection: producerConnection,
    prefix: env.NST_QUEUE_PREFIX,
    failedRetentionSeconds: env.NST_FAILED_RETENTION_DAYS * 86_400,
  });
  const metrics = createServiceMetrics('normalizer');
  const worker = createNormalizeWorker(
    { pool, queues, logger, catalog: await loadCatalog(pool), metrics },
    { connection: workerConnection, prefix: env.NST_QUEUE_PREFIX, concurrency: env.NORMALIZE_CONCURRENCY, metrics, lockDurationMs: env.NST_JOB_LOCK_MS },
  );
  const ops = await startOpsServer({
    port: env.PORT,
    registry: metrics.registry,
    ready: () => checkReadiness({ pool, redis: producerConnection, workerRunning: () => worker.isRunning() }),
  });
  logger.info({ port: ops.port, concurrency: env.NORMALIZE_CONCURRENCY }, 'normalizer started');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(() => void worker.close(true), env.SHUTDOWN_GRACE_SECONDS * 1000);
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
  await main(readNormalizerEnv());
} catch (error) {
  process.stderr.write(`normalizer: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
