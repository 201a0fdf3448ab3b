/** The normalizer service: the normalize worker (see @nst/shared/service for the shell). */
import { runMain, runService } from '@nst/shared/service';
import { readNormalizerEnv } from './env';
import { buildIndicatorCatalog } from './indicators';
import { createParsePool } from './parse-pool';
import { createNormalizeWorker, loadIndicators } from './worker';

await runMain('normalizer', async () => {
  const env = readNormalizerEnv();
  await runService({
    name: 'normalizer',
    env,
    // A load and up to NORMALIZE_STORE_LANES store transactions at a time (jobs batch them), list
    // pages and unreadable documents, an ANALYZE now and then, and the readiness probe.
    poolSize: 5 + env.NORMALIZE_STORE_LANES,
    async start({ logger, pool, workerConnection, queues, metrics }) {
      const indicators = await loadIndicators(pool);
      const parsePool = createParsePool({ indicators, threads: env.NORMALIZE_PARSE_THREADS });
      const worker = createNormalizeWorker(
        { pool, queues, logger, catalog: buildIndicatorCatalog(indicators), parsePool, metrics, aggregateDelayMs: env.NORMALIZE_AGGREGATE_DELAY_MS, aggregateMaxDelayMs: env.NORMALIZE_AGGREGATE_MAX_DELAY_MS, storeLanes: env.NORMALIZE_STORE_LANES },
        { connection: workerConnection, prefix: env.NST_QUEUE_PREFIX, concurrency: env.NORMALIZE_CONCURRENCY, metrics, lockDurationMs: env.NST_JOB_LOCK_MS },
      );
      return { worker, info: { concurrency: env.NORMALIZE_CONCURRENCY, parseThreads: parsePool.threads, storeLanes: env.NORMALIZE_STORE_LANES } };
    },
  });
});
