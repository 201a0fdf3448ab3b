import type { ConnectionOptions, Worker } from 'bullmq';
import type { ServiceMetrics } from '@nst/shared/ops';
import { createWorker } from '@nst/shared/worker';
import { handleAggregateJob, type AggregateDeps } from './jobs/aggregate-indicator';

export interface AggregateWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  metrics?: ServiceMetrics;
}

export function createAggregateWorker(deps: AggregateDeps, options: AggregateWorkerOptions): Worker {
  return createWorker((job) => handleAggregateJob(job, deps), {
    queue: 'aggregate',
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    logger: deps.logger,
    metrics: options.metrics,
  });
}
