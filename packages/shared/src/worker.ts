/**
 * Worker wiring shared by the three services: parse the payload, run the handler, log a failure
 * once (with queue, job, jobId, attempt, durationMs — never the payload), count it, and hand BullMQ
 * the right error class (non-retryable → UnrecoverableError).
 */
import { DelayedError, UnrecoverableError, Worker, type ConnectionOptions, type Job, type WorkerOptions } from 'bullmq';
import { errorCode, isConnectionLoss, NonRetryableError } from './errors';
import type { QueueName } from './jobs';
import type { Logger } from './logger';
import type { ServiceMetrics } from './ops';

/**
 * How long a job waits for PostgreSQL after a lost connection: doubling from 1 s to at most 5 s
 * while the outage lasts (counted per worker, reset by the next job that succeeds), jittered.
 */
export function outageDelayMs(consecutiveLosses: number, random = Math.random): number {
  const base = Math.min(1_000 * 2 ** Math.max(0, consecutiveLosses - 1), 5_000);
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Thrown by a handler whose job cannot run yet (a fetch whose host's turn is minutes away): the
 * job goes back to the queue, delayed until `untilMs` (epoch ms), without spending an attempt,
 * so that it does not hold one of the worker's places while it waits. `data`, when given, replaces
 * the job's data first (what the job reserved for its next run).
 */
export class DeferJob extends Error {
  override readonly name = 'DeferJob';
  constructor(
    readonly untilMs: number,
    readonly data?: Record<string, unknown>,
    /** Why it waits, for the `nst_jobs_deferred_total` counter. */
    readonly reason = 'deferred',
  ) {
    super(`job deferred until ${new Date(untilMs).toISOString()}`);
  }
}

/** Options for {@link createWorker}. */
export interface CreateWorkerOptions {
  queue: QueueName;
  connection: ConnectionOptions;
  prefix: string;
  /** Jobs processed at once by this replica. */
  concurrency: number;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Lock duration in ms (default BullMQ's 30 s); stalled jobs are looked for every half of it. */
  lockDurationMs?: number;
  /** Extra BullMQ worker settings (backoff strategy …). */
  workerOptions?: Partial<WorkerOptions>;
}

export function createWorker<R>(handler: (job: Job) => Promise<R>, options: CreateWorkerOptions): Worker {
  let consecutiveLosses = 0;
  const worker = new Worker(
    options.queue,
    async (job: Job, token?: string) => {
      const started = performance.now();
      const end = options.metrics?.jobDuration.startTimer({ queue: options.queue, job: job.name });
      // A job put back to wait is not a run: its duration is not observed.
      let deferred = false;
      try {
        const result = await handler(job);
        consecutiveLosses = 0;
        options.metrics?.jobsCompleted.inc({ queue: options.queue, job: job.name });
        return result;
      } catch (error) {
        if (token && error instanceof DeferJob) {
          deferred = true;
          if (error.data) await job.updateData(error.data);
          await job.moveToDelayed(error.untilMs, token);
          options.metrics?.jobsDeferred.inc({ queue: options.queue, job: job.name, reason: error.reason });
          throw new DelayedError();
        }
        if (token && isConnectionLoss(error)) {
          // PostgreSQL is away: not the job's fault, so it spends no attempt. It goes back to the
          // queue (delayed) and runs again when the server answers; its effects are idempotent.
          consecutiveLosses += 1;
          const waitMs = outageDelayMs(consecutiveLosses);
          options.logger.warn(
            { queue: options.queue, job: job.name, jobId: job.id, attempt: job.attemptsMade + 1, waitMs, err: { message: (error as Error).message, code: errorCode(error) } },
            'waiting for PostgreSQL',
          );
          await job.moveToDelayed(Date.now() + waitMs, token);
          throw new DelayedError();
        }
        const code = errorCode((error as { cause?: unknown }).cause ?? error);
        options.metrics?.jobsFailed.inc({ queue: options.queue, job: job.name, reason: code });
        const attempts = job.opts.attempts ?? 1;
        const final = error instanceof NonRetryableError || (error as Error).name === 'UnrecoverableError' || job.attemptsMade + 1 >= attempts;
        options.logger[final ? 'error' : 'warn'](
          {
            queue: options.queue,
            job: job.name,
            jobId: job.id,
            attempt: job.attemptsMade + 1,
            durationMs: Math.round(performance.now() - started),
            code,
            err: { message: (error as Error).message, name: (error as Error).name },
          },
          final ? 'job failed' : 'job attempt failed, will retry',
        );
        throw toBullError(error);
      } finally {
        if (!deferred) end?.();
      }
    },
    {
      connection: options.connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      autorun: true,
      // Jobs are idempotent, so a job whose worker died may safely run again, even twice.
      maxStalledCount: 3,
      ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs, stalledInterval: Math.max(500, Math.floor(options.lockDurationMs / 2)) } : {}),
      ...options.workerOptions,
    },
  );
  // Connection trouble is reported by /readyz; the worker reconnects by itself.
  worker.on('error', (error) => options.logger.warn({ queue: options.queue, err: { message: error.message } }, 'worker error'));
  return worker;
}

/**
 * Convert any thrown value into what BullMQ should see: non-retryable errors become
 * `UnrecoverableError` (keeping our code in the message prefix), everything else is re-thrown as is.
 */
export function toBullError(error: unknown): Error {
  if (error instanceof NonRetryableError) {
    const wrapped = new UnrecoverableError(`${error.code}: ${error.message}`);
    wrapped.cause = error;
    return wrapped;
  }
  if (error instanceof Error) return error;
  return new Error(String(error));
}
