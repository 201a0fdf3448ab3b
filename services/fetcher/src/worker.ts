import type { ConnectionOptions, Worker } from 'bullmq';
import type { ServiceMetrics } from '@nst/shared/ops';
import { createWorker } from '@nst/shared/worker';
import { handleFetchJob, type FetchDeps } from './jobs/fetch-source';

/** Backoff type of fetch jobs: exponential with jitter, or the server's Retry-After when it sent one. */
export const FETCH_BACKOFF_TYPE = 'retry-after';

/** Job options of every fetch job (scheduler, discovery, CLI). */
export function fetchJobOptions(attempts: number, backoffMs: number) {
  return { attempts, backoff: { type: FETCH_BACKOFF_TYPE, delay: backoffMs } };
}

/** Delay before retry `attemptsMade`: Retry-After if given, else base·2^(n−1), jittered ±50%. */
export function fetchBackoffDelay(attemptsMade: number, baseMs: number, error?: Error, random = Math.random): number {
  const retryAfter = (error as { retryAfterMs?: number } | undefined)?.retryAfterMs;
  if (retryAfter !== undefined) return retryAfter;
  const exponential = baseMs * 2 ** Math.max(0, attemptsMade - 1);
  return Math.round(exponential * (0.5 + random()));
}

export interface FetchWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /** Job lock duration in ms; see NST_JOB_LOCK_MS. */
  lockDurationMs?: number;
  backoffMs: number;
  metrics?: ServiceMetrics;
}

export function createFetchWorker(deps: FetchDeps, options: FetchWorkerOptions): Worker {
  return createWorker((job) => handleFetchJob(job, deps), {
    queue: 'fetch',
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDurationMs: options.lockDurationMs,
    logger: deps.logger,
    metrics: options.metrics,
    workerOptions: {
      settings: {
        backoffStrategy: (attemptsMade, _type, error) => fetchBackoffDelay(attemptsMade, options.backoffMs, error),
      },
    },
  });
}
