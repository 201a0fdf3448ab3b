/**
 * The pipeline inside the CLI process, for `nst run --once` and `nst reprocess --inline`: the
 * three workers of the services (their public subpaths), sharing the CLI's pool and queues, and
 * a wait-until-drained loop that reports progress (a live line on a terminal, plain lines
 * otherwise).
 */
import type { Worker } from 'bullmq';
import { createAggregateWorker } from '@nst/aggregator';
import { createFetchDeps, createFetchWorker, FetcherEnv, loadSources, startPublisher, type Publisher } from '@nst/fetcher';
import { createNormalizeWorker, loadCatalog } from '@nst/normalizer/service';
import { QUEUE_NAMES } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import type { CliContext } from './context';

export interface InProcessPipeline {
  workers: Worker[];
  publisher?: Publisher;
  close(): Promise<void>;
}

/** Options for {@link startPipeline}. */
export interface PipelineOptions {
  stages: ReadonlyArray<'fetch' | 'normalize' | 'aggregate'>;
  /** Map sources onto the offline publisher; one is started in-process unless `publisherUrl` is given. */
  offline?: boolean;
  publisherUrl?: string;
}

export async function startPipeline(ctx: CliContext, options: PipelineOptions): Promise<InProcessPipeline> {
  const pool = await ctx.db();
  const queues = await ctx.queues();
  const logger = createLogger({ service: 'nst-cli', level: ctx.env.LOG_LEVEL === 'info' ? 'warn' : ctx.env.LOG_LEVEL });
  const connection = createRedis(ctx.env.REDIS_URL, { role: 'worker', name: 'nst-cli-worker' });
  const prefix = ctx.env.NST_QUEUE_PREFIX;
  const workers: Worker[] = [];
  let publisher: Publisher | undefined;
  if (options.stages.includes('fetch')) {
    let publisherUrl = options.publisherUrl;
    if (options.offline && !publisherUrl) {
      publisher = await startPublisher();
      publisherUrl = publisher.url;
    }
    // The fetcher's defaults (timeouts, attempts, User-Agent) apply, read through its own schema.
    const env = FetcherEnv.parse({ NST_OFFLINE: options.offline ? 'true' : 'false', NST_PUBLISHER_URL: publisherUrl, NST_QUEUE_PREFIX: prefix });
    const deps = createFetchDeps({
      env,
      pool,
      queues,
      redis: await ctx.redis(),
      logger,
      sources: await loadSources(pool),
      politeness: options.offline ? 'off' : 'registry',
    });
    workers.push(createFetchWorker(deps, { connection, prefix, concurrency: env.FETCH_CONCURRENCY, backoffMs: env.FETCH_BACKOFF_MS }));
  }
  if (options.stages.includes('normalize')) {
    workers.push(createNormalizeWorker({ pool, queues, logger, catalog: await loadCatalog(pool) }, { connection, prefix, concurrency: 4 }));
  }
  if (options.stages.includes('aggregate')) {
    workers.push(createAggregateWorker({ pool, logger }, { connection, prefix, concurrency: 2 }));
  }
  return {
    workers,
    publisher,
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      connection.disconnect();
      await publisher?.close();
    },
  };
}

/** Wait until every queue is drained (nothing waiting, active or delayed), printing progress. */
export async function waitForDrain(ctx: CliContext, options: { timeoutMs?: number; label?: string } = {}): Promise<void> {
  const queues = await ctx.queues();
  const tty = process.stderr.isTTY;
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let idle = 0;
  let lastPrinted = 0;
  while (Date.now() < deadline) {
    const parts: string[] = [];
    let busy = 0;
    for (const name of QUEUE_NAMES) {
      const c = await queues[name].getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      busy += (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
      parts.push(`${name} ${c.completed ?? 0} done, ${(c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0)} queued, ${c.active ?? 0} active, ${c.failed ?? 0} failed`);
    }
    const line = `${options.label ?? 'pipeline'}: ${parts.join(' | ')}`;
    if (tty) process.stderr.write(`\r\x1b[2K${line}`);
    else if (Date.now() - lastPrinted > 5_000) {
      process.stderr.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    idle = busy === 0 ? idle + 1 : 0;
    // Two idle polls in a row: a finishing job may enqueue the next one in between.
    if (idle >= 2) {
      if (tty) process.stderr.write(`\r\x1b[2K${line}\n`);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the pipeline did not drain within ${Math.round((options.timeoutMs ?? 1_800_000) / 1000)} s`);
}
