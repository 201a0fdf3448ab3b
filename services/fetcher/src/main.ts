/** The fetcher service: the fetch worker and the cron scheduler (see @nst/shared/service for the shell). */
import { runMain, runService } from '@nst/shared/service';
import { readFetcherEnv } from './env';
import { createFetchDeps } from './deps';
import { startScheduler } from './scheduler';
import { loadSources } from './sql/sources';
import { createFetchWorker, fetchJobOptions } from './worker';

await runMain('fetcher', async () => {
  const env = readFetcherEnv();
  await runService({
    name: 'fetcher',
    env,
    poolSize: Math.min(20, env.FETCH_CONCURRENCY + 2),
    async start({ logger, pool, workerConnection, connection, queues, metrics }) {
      const sources = await loadSources(pool);
      const deps = { ...createFetchDeps({ env, pool, queues, redis: connection, logger, sources }), metrics };
      const worker = createFetchWorker(deps, {
        connection: workerConnection,
        prefix: env.NST_QUEUE_PREFIX,
        concurrency: env.FETCH_CONCURRENCY,
        backoffMs: env.FETCH_BACKOFF_MS,
        metrics,
        lockDurationMs: env.NST_JOB_LOCK_MS,
      });
      const scheduler = env.SCHEDULER_ENABLED
        ? startScheduler({ queues, sources, logger, jobOptions: fetchJobOptions(env.FETCH_ATTEMPTS, env.FETCH_BACKOFF_MS) })
        : undefined;
      return { worker, stopFirst: scheduler?.stop, info: { offline: env.NST_OFFLINE, concurrency: env.FETCH_CONCURRENCY } };
    },
  });
});
