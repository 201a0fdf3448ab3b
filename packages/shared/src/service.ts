/**
 * The process shell shared by the three worker services: connections, metrics, the ops HTTP
 * server, readiness, and the graceful shutdown on SIGTERM/SIGINT (take no new job, let running ones
 * finish within the grace period, then close anyway — BullMQ hands unfinished jobs back after
 * their lock expires). Each service supplies only its worker.
 */
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createPool, type Pool } from './db';
import type { CommonEnv } from './env';
import { ConfigError } from './errors';
import { closeQueues, createQueues, type Queues } from './jobs';
import { createLogger, type Logger } from './logger';
import { checkReadiness, createServiceMetrics, startOpsServer, type ServiceMetrics } from './ops';
import { createRedis } from './redis';

export interface ServiceRuntime {
  logger: Logger;
  pool: Pool;
  /** Connection for the worker's blocking commands. */
  workerConnection: Redis;
  /** Connection for producing jobs, rate limits and readiness checks. */
  connection: Redis;
  queues: Queues;
  metrics: ServiceMetrics;
}

export interface StartedService {
  worker: Worker;
  /** Stopped before the worker (e.g. the scheduler: no new ticks while draining). */
  stopFirst?: () => Promise<void>;
  /** Logged with the "started" line. */
  info?: Record<string, unknown>;
}

/** Options for {@link runService}. */
export interface RunServiceOptions {
  name: 'fetcher' | 'normalizer' | 'aggregator';
  env: CommonEnv & { PORT: number; SHUTDOWN_GRACE_SECONDS: number };
  /** PostgreSQL connections of this process. */
  poolSize: number;
  start: (runtime: ServiceRuntime) => Promise<StartedService>;
}

export async function runService(options: RunServiceOptions): Promise<void> {
  const { env, name } = options;
  const logger = createLogger({ service: name, level: env.LOG_LEVEL });
  const pool = createPool(env.DATABASE_URL, { max: options.poolSize, applicationName: `nst-${name}` });
  const workerConnection = createRedis(env.REDIS_URL, { role: 'worker', name: `nst-${name}-worker` });
  const connection = createRedis(env.REDIS_URL, { role: 'worker', name: `nst-${name}` });
  for (const client of [workerConnection, connection]) {
    // Reconnection is automatic and /readyz reports the outage; an 'error' event must not crash us.
    client.on('error', (error: Error) => logger.warn({ err: { message: error.message } }, 'redis connection error'));
  }
  const queues = createQueues({ connection, prefix: env.NST_QUEUE_PREFIX, failedRetentionSeconds: env.NST_FAILED_RETENTION_DAYS * 86_400 });
  const metrics = createServiceMetrics(name);
  const started = await options.start({ logger, pool, workerConnection, connection, queues, metrics });
  const ops = await startOpsServer({
    port: env.PORT,
    registry: metrics.registry,
    ready: () => checkReadiness({ pool, redis: connection, workerRunning: () => started.worker.isRunning() }),
  });
  logger.info({ port: ops.port, ...started.info }, `${name} started`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await started.stopFirst?.();
    const forced = setTimeout(() => {
      logger.warn({ graceSeconds: env.SHUTDOWN_GRACE_SECONDS }, 'grace period over; closing with jobs in flight');
      void started.worker.close(true);
    }, env.SHUTDOWN_GRACE_SECONDS * 1000);
    await started.worker.close();
    clearTimeout(forced);
    await closeQueues(queues);
    await ops.close();
    workerConnection.disconnect();
    connection.disconnect();
    await pool.end();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

/** Run a service's `main`, turning a bad environment or a start-up failure into one line and exit 1. */
export async function runMain(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(1);
  }
}
