/**
 * The read API and dashboard service: one fastify app on a pool that connects as nst_reader, with
 * a graceful shutdown on SIGTERM/SIGINT (stop accepting, let in-flight requests finish within
 * SHUTDOWN_GRACE_SECONDS, close the pool).
 */
import { createPool } from '@nst/shared/db';
import { ConfigError } from '@nst/shared/errors';
import { createLogger, redactUrl } from '@nst/shared/logger';
import { readApiEnv, type ApiEnv } from './env';
import { buildServer } from './server';

async function main(env: ApiEnv): Promise<void> {
  const logger = createLogger({ service: 'api', level: env.LOG_LEVEL });
  const pool = createPool(env.API_DATABASE_URL, { max: env.API_POOL_MAX, applicationName: 'nst-api' });
  // A consumer's query must not hold a connection for ever; PostgreSQL cancels it past the bound.
  pool.on('connect', (client) => {
    client.query(`SET statement_timeout = ${env.API_STATEMENT_TIMEOUT_MS}`).catch(() => undefined);
  });
  const app = await buildServer({ pool, logger });
  await app.listen({ port: env.PORT, host: env.API_HOST });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : env.PORT;
  logger.info({ port, database: redactUrl(env.API_DATABASE_URL) }, 'api started');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Past the grace period, open connections are cut so the process still exits within its bound.
    const forced = setTimeout(() => app.server.closeAllConnections(), env.SHUTDOWN_GRACE_SECONDS * 1000);
    await app.close();
    clearTimeout(forced);
    await pool.end();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

try {
  await main(readApiEnv());
} catch (error) {
  process.stderr.write(`api: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
  process.exit(1);
}
