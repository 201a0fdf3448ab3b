/** The normalizer service: the normalize worker (see @nst/shared/service for the shell). */
import { runMain, runService } from '@nst/shared/service';
import { readNormalizerEnv } from './env';
import { createNormalizeWorker, loadCatalog } from './worker';

await runMain('normalizer', async () => {
  const env = readNormalizerEnv();
  await runService({
    name: 'normalizer',
    env,
    poolSize: env.NORMALIZE_CONCURRENCY + 2,
    async start({ logger, pool, workerConnection, queues, metrics }) {
      const worker = createNormalizeWorker(
        { pool, queues, logger, catalog: await loadCatalog(pool), metrics },
        { connection: workerConnection, prefix: env.NST_QUEUE_PREFIX, concurrency: env.NORMALIZE_CONCURRENCY, metrics, lockDurationMs: env.NST_JOB_LOCK_MS },
      );
      return { worker, info: { concurrency: env.NORMALIZE_CONCURRENCY } };
    },
  });
});
