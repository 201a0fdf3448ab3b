/**
 * The job catalog: queue names, job names and their zod payload schemas. Payloads are parsed when
 * enqueued ({@link enqueue}) and again when handled ({@link parseJobData}), because old jobs outlive
 * deploys. New fields must be optional.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { Scope } from './domain';
import { ValidationError } from './errors';

export const QUEUE_NAMES = ['fetch', 'normalize', 'aggregate'] as const;
export const QueueName = z.enum(QUEUE_NAMES);
export type QueueName = z.infer<typeof QueueName>;

/** Fetch a source's entry URL (scheduled or manual), or one URL discovered on a list page. */
export const FetchJob = z.object({
  sourceKey: z.string().min(1),
  /** A discovered URL of the same source; absent means the source's own entry URL. */
  url: z.string().url().optional(),
  /** Fetch even if an archived copy exists (skips the "already archived" shortcut for articles). */
  force: z.boolean().optional(),
  /** Link depth from the source's list page; 0 for the entry URL. */
  depth: z.number().int().min(0).max(10).optional(),
  /** Why the job exists: `schedule`, `manual`, `discovered`, `replay`. */
  reason: z.enum(['schedule', 'manual', 'discovered', 'replay']).optional(),
  /** `list`: a list page (discover links, never normalized); `document`: a page to normalize. */
  role: z.enum(['list', 'document']).optional(),
  /** The scheduler tick (ISO time) this job descends from; keeps one job per URL per tick. */
  tick: z.string().optional(),
  /**
   * The host's turn (Redis clock, epoch ms) that an earlier run of this job reserved before it went
   * back to the queue to wait for it (politeness), and the job's `attemptsMade` then: the same
   * attempt starts its request at that turn instead of queueing again; a retry queues anew.
   */
  turnAt: z.number().int().optional(),
  turnAttempt: z.number().int().min(0).optional(),
  /**
   * The attempt (`attemptsMade`) in which this job spent a turn of its host on the host's
   * robots.txt: in that attempt it spends no other, and uses rules past their cache period instead.
   */
  robotsAttempt: z.number().int().min(0).optional(),
});
export type FetchJob = z.infer<typeof FetchJob>;

/** Normalize one archived document into observations, news items and rejects. */
export const NormalizeJob = z.object({
  documentId: z.number().int().positive(),
  /** Set by `nst reprocess`; informational (the normalizer always runs its current parsers). */
  reason: z.enum(['archived', 'reprocess', 'replay']).optional(),
  /**
   * Store every record even when the parse gives exactly what was last stored (`nst reprocess
   * --full`): after a change of the storage code, or rows edited by hand. Default false.
   */
  full: z.boolean().optional(),
});
export type NormalizeJob = z.infer<typeof NormalizeJob>;

/** Recompute the progress snapshots that depend on (scope, indicator). */
export const AggregateJob = z.object({
  scope: Scope,
  indicator: z.string().min(1),
});
export type AggregateJob = z.infer<typeof AggregateJob>;

export const JOBS = {
  'fetch-source': { queue: 'fetch', schema: FetchJob },
  'normalize-document': { queue: 'normalize', schema: NormalizeJob },
  'aggregate-indicator': { queue: 'aggregate', schema: AggregateJob },
} as const satisfies Record<string, { queue: QueueName; schema: z.ZodType }>;

export type JobName = keyof typeof JOBS;
export type JobPayload<N extends JobName> = z.infer<(typeof JOBS)[N]['schema']>;

/** Parse a payload against its job's schema, throwing a non-retryable {@link ValidationError}. */
export function parseJobData<N extends JobName>(name: N, data: unknown): JobPayload<N> {
  const spec = JOBS[name];
  if (!spec) throw new ValidationError(`unknown job name "${String(name)}"`);
  const result = spec.schema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ValidationError(`invalid ${name} payload: ${issues.join('; ')}`, issues);
  }
  return result.data as JobPayload<N>;
}

/** Options for {@link createQueues}. */
export interface QueuesOptions {
  connection: ConnectionOptions;
  /** BullMQ key prefix; default `nst`. */
  prefix?: string;
  /** How long completed jobs are kept (seconds); default one day. */
  completedRetentionSeconds?: number;
  /** How long failed jobs are kept for replay (seconds); default 14 days. */
  failedRetentionSeconds?: number;
}

export type Queues = Record<QueueName, Queue>;

/** Default attempts and backoff: exponential with jitter, so replicas don't retry in lockstep. */
export function defaultJobOptions(options: Pick<QueuesOptions, 'completedRetentionSeconds' | 'failedRetentionSeconds'> = {}): JobsOptions {
  return {
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 },
    removeOnComplete: { age: options.completedRetentionSeconds ?? 86_400, count: 10_000 },
    removeOnFail: { age: options.failedRetentionSeconds ?? 14 * 86_400 },
  };
}

export function createQueues(options: QueuesOptions): Queues {
  const make = (name: QueueName) =>
    new Queue(name, {
      connection: options.connection,
      prefix: options.prefix ?? 'nst',
      defaultJobOptions: defaultJobOptions(options),
    });
  return { fetch: make('fetch'), normalize: make('normalize'), aggregate: make('aggregate') };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}

/**
 * A BullMQ job id from parts. BullMQ refuses ids containing ':' or made only of digits, so parts
 * are joined with '|' and ':' is replaced.
 */
export function jobId(...parts: Array<string | number>): string {
  return parts.map((part) => String(part).replaceAll(':', '_')).join('|');
}

/** The first round trip of {@link enqueueBulk}: as many jobs as a worker takes at once, give or take. */
const FIRST_BULK = 32;

/**
 * Enqueue many jobs of one name, each payload validated, in round trips of up to `chunk` jobs
 * (default 1,000) instead of one per job. Returns how many were handed to BullMQ (ids already
 * taken are skipped by BullMQ, as with `add`).
 *
 * The round trips start small and double: a round trip's jobs become visible to the workers
 * together, when it ends, so a first one of 1,000 would leave them idle while it is built and
 * sent (about a tenth of a second), where one of 32 gives them work at once.
 */
export async function enqueueBulk<N extends JobName>(
  queues: Queues,
  name: N,
  jobs: ReadonlyArray<{ payload: JobPayload<N>; options?: JobsOptions }>,
  chunk = 1_000,
): Promise<number> {
  const queue = queues[JOBS[name].queue];
  for (let i = 0, size = Math.min(FIRST_BULK, chunk); i < jobs.length; i += size, size = Math.min(size * 2, chunk)) {
    await queue.addBulk(jobs.slice(i, i + size).map((job) => ({ name, data: parseJobData(name, job.payload), opts: job.options ?? {} })));
  }
  return jobs.length;
}

/** Validate and enqueue. Returns the job id (which may belong to an existing job with that id). */
export async function enqueue<N extends JobName>(
  queues: Queues,
  name: N,
  payload: JobPayload<N>,
  options: JobsOptions = {},
): Promise<string> {
  const data = parseJobData(name, payload);
  const queue = queues[JOBS[name].queue];
  const job = await queue.add(name, data, options);
  return job.id ?? '';
}

// KEYS[1] = the queue's active list; ARGV[1] = its key prefix (`<prefix>:<queue>:`), ARGV[2…] =
// deduplication ids. Returns the ids whose job has not started: the key names a job that exists
// and is not active (delayed, waiting, prioritized, paused, or in a retry's backoff).
const NOT_STARTED = `
local out = {}
for i = 2, #ARGV do
  local id = redis.call('GET', ARGV[1] .. 'de:' .. ARGV[i])
  if id and redis.call('EXISTS', ARGV[1] .. id) == 1 and not redis.call('LPOS', KEYS[1], id) then
    out[#out + 1] = ARGV[i]
  end
end
return out`;

type NotStartedClient = { nstNotStarted?: (activeKey: string, prefixKey: string, ...ids: string[]) => Promise<string[]> };

/**
 * The deduplication ids, of those given, whose job has not started yet. Adding a job with such an
 * id is what BullMQ's deduplication makes a no-op (the job that waits runs, after the change that
 * would have added it), so a caller may leave those out, and save a script run and a job built in
 * this process for each: one round trip for all of them. A job that runs (or none) is not named,
 * and is added as usual (deduplication with `keepLastIfActive` then keeps it as the running job's
 * successor). Reads BullMQ's key layout (`<queue>:de:<id>`, as `getDeduplicationJobId` does); if
 * the look fails, it names none, and every job is added.
 */
export async function deduplicatedNotStarted(queue: Queue, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  try {
    const client = (await queue.backend.client) as unknown as NotStartedClient & { defineCommand(name: string, spec: { numberOfKeys: number; lua: string }): void };
    if (!client.nstNotStarted) client.defineCommand('nstNotStarted', { numberOfKeys: 1, lua: NOT_STARTED });
    return new Set(await client.nstNotStarted!(queue.keys.active!, queue.keys['']!, ...ids));
  } catch {
    return new Set();
  }
}
