/** The aggregator service: the aggregate worker (see @nst/shared/service for the shell). */
import { runMain, runService } from '@nst/shared/service';
import { readAggregatorEnv } from './env';
import { createAggregateWorker } from './worker';

await runMain('aggregator', async () => {
  const env = readAggregatorEnv();
  await runService({
    name: 'aggregator',
    env,
    poolSize: env.AGGREGATE_CONCURRENCY + 2,
    async start({ logger, pool, workerConnection, metrics }) {
      const worker = createAggregateWorker(
        { pool, logger, metrics },
        { connection: workerConnection, prefix: env.NST_QUEUE_PREFIX, concurrency: env.AGGREGATE_CONCURRENCY, metrics, lockDurationMs: env.NST_JOB_LOCK_MS },
      );
      return { worker, info: { concurrency: env.AGGREGATE_CONCURRENCY } };
    },
  });
});
