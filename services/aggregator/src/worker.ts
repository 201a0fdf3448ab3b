import type { ConnectionOptions, Worker } from 'bullmq';
import type { ServiceMetrics } from '@nst/shared/ops';
import { createWorker } from '@nst/shared/worker';
import { handleAggregateJob, type AggregateDeps } from './jobs/aggregate-indicator';

export interface AggregateWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /** Job lock duration in ms; see NST_JOB_LOCK_MS. */
  lockDurationMs?: number;
  metrics?: ServiceMetrics;
}

export function createAggregateWorker(deps: AggregateDeps, options: AggregateWorkerOptions): Worker {
  return createWorker((job) => handleAggregateJob(job, deps), {
    queue: 'aggregate',
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDurationMs: options.lockDurationMs,
    logger: deps.logger,
    metrics: options.metrics,
  });
}
