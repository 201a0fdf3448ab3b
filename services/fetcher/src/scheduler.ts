/**
 * The scheduler: node-cron fires each enabled source on its schedule and enqueues one fetch job
 * per due source, with a job id made of the source and the tick. Every fetcher replica may run a
 * scheduler: the same tick yields the same job id, and BullMQ keeps only the first.
 */
import cron, { type ScheduledTask } from 'node-cron';
import { enqueue, jobId, type Queues } from '@nst/shared/jobs';
import type { Logger } from '@nst/shared/logger';
import type { Source } from '@nst/shared/seeds';

/** The tick a cron firing belongs to: its time truncated to the minute (cron's resolution). */
export function tickOf(date: Date): string {
  const tick = new Date(date);
  tick.setUTCSeconds(0, 0);
  return tick.toISOString();
}

/** Enqueue the fetch of `source` for `tick`. Returns the job id. */
export async function enqueueSourceTick(
  queues: Queues,
  source: Pick<Source, 'key'>,
  tick: string,
  jobOptions: { attempts: number; backoff: { type: string; delay: number } },
  reason: 'schedule' | 'manual' = 'schedule',
  force = false,
): Promise<string> {
  return enqueue(queues, 'fetch-source', { sourceKey: source.key, reason, tick, force, depth: 0 }, { ...jobOptions, jobId: jobId('tick', source.key, tick) });
}

export interface Scheduler {
  stop(): Promise<void>;
}

/** Options for {@link startScheduler}. */
export interface SchedulerOptions {
  queues: Queues;
  sources: readonly Source[];
  logger: Logger;
  jobOptions: { attempts: number; backoff: { type: string; delay: number } };
  /** Time zone of the cron expressions; default Asia/Shanghai, the publishers' own. */
  timezone?: string;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const tasks: ScheduledTask[] = [];
  for (const source of options.sources.filter((s) => s.enabled)) {
    const task = cron.schedule(
      source.schedule,
      async (context) => {
        const tick = tickOf(context.date);
        try {
          await enqueueSourceTick(options.queues, source, tick, options.jobOptions);
          options.logger.info({ source: source.key, tick }, 'scheduled fetch');
        } catch (error) {
          options.logger.error({ source: source.key, tick, err: { message: (error as Error).message } }, 'could not enqueue scheduled fetch');
        }
      },
      { name: `fetch:${source.key}`, timezone: options.timezone ?? 'Asia/Shanghai', noOverlap: true },
    );
    tasks.push(task);
  }
  return {
    async stop() {
      await Promise.all(tasks.map(async (task) => {
        await task.stop();
        await task.destroy();
      }));
    },
  };
}
