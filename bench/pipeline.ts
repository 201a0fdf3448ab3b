/**
 * Measure 2, `pipeline`: the synthetic site (site.ts) through the three services running as real
 * processes with their default concurrency, politeness off for the benchmark host. Pages per
 * second from the first fetch job to the moment every queue is drained (the last aggregate), and
 * the peak RSS of each service.
 */
import { enqueueSourceTick, fetchJobOptions, startPublisher, type Publisher } from '@nst/fetcher';
import {
  createBenchDatabase,
  createBenchRedis,
  note,
  pendingJobs,
  report,
  round,
  serviceEnv,
  startCpuWindow,
  startStage,
  waitForDrain,
  type BenchConfig,
  type BenchDatabase,
  type BenchRedis,
  type ServiceProcess,
} from './harness';
import { generateBenchSite, type BenchSite } from './site';

/** A pipeline run: its database, prefix, publisher and services, kept up for the reprocess measure. */
export interface PipelineRun {
  n: number;
  site: BenchSite;
  db: BenchDatabase;
  redis: BenchRedis;
  publisher: Publisher;
  services: ServiceProcess[];
  close(): Promise<void>;
}

/** Start the services on a fresh database and prefix, with `site` (default: the site of `n` list pages) served and registered. */
export async function startPipelineRun(n: number, config: BenchConfig, site: BenchSite = generateBenchSite(n)): Promise<PipelineRun> {
  note(`pipeline n=${n}: ${site.listPages} list pages, ${site.articles} articles of ${site.meanArticleBytes} bytes, ${site.sources.length} source(s)`);
  const db = await createBenchDatabase(config, site.sources);
  const redis = await createBenchRedis(config);
  const publisher = await startPublisher({ extraFiles: site.files, control: false });
  const env = serviceEnv(db.url, config.redisUrl, redis.prefix, publisher.url);
  const services: ServiceProcess[] = [];
  const close = async () => {
    await Promise.all(services.map((service) => service.stop()));
    await publisher.close();
    await redis.cleanup();
    if (config.keep) note(`kept database ${db.url}`);
    else await db.drop();
  };
  try {
    for (const stage of ['fetcher', 'normalizer', 'aggregator'] as const) services.push(await startStage(stage, env, config));
  } catch (error) {
    await close();
    throw error;
  }
  return { n, site, db, redis, publisher, services, close };
}

export async function measurePipeline(run: PipelineRun, options: { timeoutMs: number }): Promise<void> {
  const { site, db, redis } = run;
  const tick = `bench-${Date.now()}`;
  const cpu = await startCpuWindow(run.services, db.pool);
  const started = performance.now();
  // One tick per source, as the scheduler would enqueue: the entry page discovers the rest.
  for (const source of site.sources) await enqueueSourceTick(redis.queues, source, tick, fetchJobOptions(5, 1000), 'manual');
  // The fetcher's end (its queue empty for good: no job discovers another after the last list
  // page) and the longest normalize queue: what the normalizer has left to do when pages stop coming.
  let fetched: number | undefined;
  let normalizeBacklog = 0;
  const drained = await waitForDrain(redis.queues, {
    timeoutMs: options.timeoutMs,
    label: `pipeline n=${run.n}`,
    onPoll: (counts, at) => {
      normalizeBacklog = Math.max(normalizeBacklog, (counts.normalize.waiting ?? 0) + (counts.normalize.prioritized ?? 0));
      if (pendingJobs(counts.fetch) > 0) fetched = undefined;
      else fetched ??= at;
    },
  });
  const seconds = (drained - started) / 1000;
  const { cpuSeconds, postgresByService, machineCpu } = await cpu.stop();

  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM raw.document WHERE source_key LIKE 'bench-%')::int AS pages,
            (SELECT count(*) FROM raw.document WHERE source_key LIKE 'bench-%' AND normalized_at IS NOT NULL)::int AS normalized,
            (SELECT count(*) FROM core.observation)::int AS observations,
            (SELECT count(*) FROM core.reject)::int AS rejects,
            (SELECT count(*) FROM agg.progress_snapshot)::int AS snapshots`,
  );
  const counts = rows[0] as { pages: number; normalized: number; observations: number; rejects: number; snapshots: number };
  const failed = await Promise.all(Object.values(redis.queues).map((queue) => queue.getFailedCount()));
  const expected = site.listPages + site.articles;
  if (counts.pages !== expected || failed.some((n) => n > 0)) {
    note(`pipeline n=${run.n}: expected ${expected} pages, archived ${counts.pages}; failed jobs ${failed.join('/')}`);
  }
  const peak = Object.fromEntries(run.services.map((service) => [service.stage, service.peakRssMb()]));
  report({
    measure: 'pipeline',
    n: run.n,
    pages: counts.pages,
    seconds: round(seconds, 2),
    pagesPerSecond: round(counts.pages / seconds),
    peakRssMb: peak,
    cpuSeconds,
    // PostgreSQL's CPU by the service whose connections spent it; `rest`: its background processes and the like.
    postgresByService,
    // What the target is in: 250 pages/s on two cores is 8 ms of CPU a page over every process.
    cpuMsPerPage: round((Object.values(cpuSeconds).reduce((sum, seconds) => sum + seconds, 0) * 1000) / counts.pages),
    // The machine's busy time beside it: CPU spent elsewhere, or taken by the hypervisor, marks a run that did not have both cores.
    machineCpu,
    // From the fetcher's last page to the last aggregate, and the most documents that waited to be normalized.
    tailSeconds: fetched === undefined ? null : round((drained - fetched) / 1000, 2),
    normalizeBacklog,
    normalized: counts.normalized,
    observations: counts.observations,
    rejects: counts.rejects,
    snapshots: counts.snapshots,
    failedJobs: failed.reduce((sum, n) => sum + n, 0),
  });
}
