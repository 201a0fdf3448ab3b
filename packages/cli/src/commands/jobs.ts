/**
 * `nst jobs failed` and `nst jobs replay`: the operator's view of failed jobs, and re-running them
 * after the cause is fixed (attempts reset). Replaying a job that is gone or not failed says so and
 * changes nothing.
 */
import type { Job } from 'bullmq';
import { NstError } from '@nst/shared/errors';
import { QueueName, type Queues } from '@nst/shared/jobs';
import type { Register } from '../main';
import { renderTable } from '../table';

function parseQueue(value: string | undefined): QueueName[] {
  if (value === undefined) return [...QueueName.options];
  const parsed = QueueName.safeParse(value);
  if (!parsed.success) throw new NstError('usage', `--queue must be one of ${QueueName.options.join(', ')} (got "${value}")`);
  return [parsed.data];
}

/** What a job was about, for a person: the source and URL, the document, or the aggregate key. */
export function describeJobSubject(job: Job): string {
  const data = (job.data ?? {}) as Record<string, unknown>;
  if (typeof data.sourceKey === 'string') return `${data.sourceKey}${typeof data.url === 'string' ? ` ${data.url}` : ''}`;
  if (typeof data.documentId === 'number') return `document ${data.documentId}`;
  if (typeof data.scope === 'string') return `${data.scope}/${String(data.indicator)}`;
  return '';
}

export async function listFailed(queues: Queues, names: QueueName[], limit: number): Promise<Array<{ queue: QueueName; job: Job }>> {
  const out: Array<{ queue: QueueName; job: Job }> = [];
  for (const name of names) {
    for (const job of await queues[name].getFailed(0, limit - 1)) out.push({ queue: name, job });
  }
  return out.sort((a, b) => (b.job.finishedOn ?? 0) - (a.job.finishedOn ?? 0)).slice(0, limit);
}

export const registerJobs: Register = (program, context) => {
  const jobs = program.command('jobs').description('failed jobs: list and replay');

  jobs
    .command('failed')
    .description('failed jobs, newest first, with their reasons')
    .option('--queue <queue>', 'fetch | normalize | aggregate (default: all)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'JSON lines')
    .action(async (options: { queue?: string; limit: string; json?: boolean }) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new NstError('usage', `--limit must be a positive integer (got "${options.limit}")`);
      const failed = await listFailed(await context().queues(), parseQueue(options.queue), limit);
      if (options.json) {
        for (const { queue, job } of failed) {
          console.log(JSON.stringify({ queue, id: job.id, name: job.name, subject: describeJobSubject(job), attempts: job.attemptsMade, reason: job.failedReason, failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null }));
        }
        return;
      }
      if (failed.length === 0) {
        console.log('no failed jobs');
        return;
      }
      console.log(
        renderTable(
          ['queue', 'id', 'job', 'source / document', 'attempts', 'reason', 'failed at'],
          failed.map(({ queue, job }) => [queue, job.id, job.name, describeJobSubject(job), job.attemptsMade, job.failedReason?.slice(0, 120), job.finishedOn ? new Date(job.finishedOn).toISOString() : null]),
        ),
      );
    });

  jobs
    .command('replay')
    .description('re-run failed jobs with their attempts reset')
    .requiredOption('--queue <queue>', 'fetch | normalize | aggregate')
    .option('--id <id...>', 'job ids to replay')
    .option('--all', 'every failed job of the queue')
    .option('--since <date>', 'with --all: only jobs that failed at or after this date')
    .action(async (options: { queue: string; id?: string[]; all?: boolean; since?: string }) => {
      const [name] = parseQueue(options.queue);
      if (!options.all === !options.id) throw new NstError('usage', 'give either --id ID... or --all');
      const since = options.since ? new Date(options.since) : undefined;
      if (since && Number.isNaN(since.getTime())) throw new NstError('usage', `--since must be a date (got "${options.since}")`);
      const queue = (await context().queues())[name!];
      const ids = options.all
        ? (await queue.getFailed(0, -1)).filter((job) => !since || (job.finishedOn ?? 0) >= since.getTime()).map((job) => job.id!)
        : options.id!;
      let replayed = 0;
      for (const id of ids) {
        const job = await queue.getJob(id);
        if (!job) {
          console.log(`${id}: no such job (removed or never existed); nothing changed`);
          continue;
        }
        const state = await job.getState();
        if (state !== 'failed') {
          console.log(`${id}: is ${state}, not failed; nothing changed`);
          continue;
        }
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed += 1;
        console.log(`${id}: replayed ${job.name} (${describeJobSubject(job)}), was: ${job.failedReason}`);
      }
      console.log(`replayed ${replayed} of ${ids.length} job(s) on ${name}`);
    });
};
