import type { Job } from 'bullmq';
import { QUEUE_NAMES } from '@nst/shared/jobs';
import type { Register } from '../main';
import { renderTable } from '../table';

/** Delayed fetch jobs read at a time. */
const DELAYED_PAGE = 1_000;

/** Milliseconds from now as an operator reads them: `in 41 s`, `12 s ago`. */
const relative = (ms: number) => (ms >= 0 ? `in ${Math.round(ms / 1000)} s` : `${Math.round(-ms / 1000)} s ago`);

/** A delayed fetch job's host, from its URL or its source's; undefined when neither is known. */
function hostOf(job: Job, sourceUrls: ReadonlyMap<string, string>): string | undefined {
  const data = job.data as { url?: string; sourceKey?: string };
  const url = data.url ?? (data.sourceKey !== undefined ? sourceUrls.get(data.sourceKey) : undefined);
  try {
    return url === undefined ? undefined : new URL(url).host;
  } catch {
    return undefined;
  }
}

export const registerStatus: Register = (program, context) => {
  program
    .command('status')
    .description("queue depths, each host's politeness (jobs waiting for its turn, when the last turn comes), last successful fetch per source, rejects in the last day")
    .option('--json', 'print one JSON object instead of tables')
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const pool = await ctx.db();
      const queues = await ctx.queues();
      const now = Date.now();
      const queueRows: Array<{ queue: string; oldestWaitingAgeS: number | null } & Record<string, number | string | null>> = [];
      for (const name of QUEUE_NAMES) {
        const queue = queues[name];
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        const [oldest] = await queue.getJobs(['waiting'], -1, -1, true);
        const oldestAgeS = oldest ? Math.round((now - oldest.timestamp) / 1000) : null;
        queueRows.push({ queue: name, ...counts, oldestWaitingAgeS: oldestAgeS });
      }
      const fetches = await pool.query<{ key: string; url: string; last_ok: Date | null; last_outcome: string | null }>(
        `SELECT s.key, s.url,
                (SELECT max(at) FROM raw.fetch_log f WHERE f.source_key = s.key AND f.outcome IN ('archived', 'unchanged', 'not_modified')) AS last_ok,
                (SELECT outcome FROM raw.fetch_log f WHERE f.source_key = s.key ORDER BY at DESC LIMIT 1) AS last_outcome
         FROM raw.source s WHERE s.enabled ORDER BY s.key`,
      );
      // Each host's politeness: the fetch jobs that wait for its turn in the queue (delayed, a turn
      // kept in their data) and its state in Redis. The last turn given out is when the host's
      // backlog, as it stands, will have been fetched.
      // The gate's module alone, not the fetcher's whole (its HTTP client, parsers and guard).
      const { readHostStates } = await import('@nst/fetcher/rate-limit');
      const sourceUrls = new Map(fetches.rows.map((row) => [row.key, row.url]));
      const waiting = new Map<string, number>();
      // A page of delayed jobs at a time: a backfill's backlog may hold hundreds of thousands.
      for (let start = 0; ; start += DELAYED_PAGE) {
        const jobs = await queues.fetch.getJobs(['delayed'], start, start + DELAYED_PAGE - 1, true);
        for (const job of jobs) {
          // A turn of this attempt's: a job delayed for a retry's backoff may carry an earlier attempt's.
          const { turnAt, turnAttempt } = (job?.data ?? {}) as { turnAt?: number; turnAttempt?: number };
          const host = job && turnAt !== undefined && turnAttempt === job.attemptsMade ? hostOf(job, sourceUrls) : undefined;
          if (host !== undefined) waiting.set(host, (waiting.get(host) ?? 0) + 1);
        }
        if (jobs.length < DELAYED_PAGE) break;
      }
      const states = await readHostStates(await ctx.redis(), ctx.env.NST_QUEUE_PREFIX);
      const hosts = states.map((state) => ({
        host: state.host,
        waitingForTurn: waiting.get(state.host) ?? 0,
        delayMs: state.delayMs,
        lastTurnInMs: state.lastTurnAt === null ? null : state.lastTurnAt - state.now,
        lastRequestAgoMs: state.lastRequestAt === null ? null : state.now - state.lastRequestAt,
      }));
      for (const [host, n] of waiting) {
        if (!states.some((state) => state.host === host)) hosts.push({ host, waitingForTurn: n, delayMs: null, lastTurnInMs: null, lastRequestAgoMs: null });
      }
      const rejects = await pool.query<{ reason: string; n: number }>(
        `SELECT reason, count(*)::int AS n FROM core.reject WHERE created_at > now() - interval '1 day' GROUP BY reason ORDER BY n DESC`,
      );
      if (options.json) {
        console.log(JSON.stringify({ queues: queueRows, hosts, sources: fetches.rows, rejectsLastDay: rejects.rows }));
        return;
      }
      console.log(
        renderTable(
          ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'oldest waiting (s)'],
          queueRows.map((q) => [q.queue, q.waiting, q.active, q.delayed, q.failed, q.completed, q.oldestWaitingAgeS]),
        ),
      );
      if (hosts.length > 0) {
        console.log(
          renderTable(
            ['host', 'waiting for its turn', 'delay (ms)', 'last turn given out', 'last request'],
            hosts.map((h) => [h.host, h.waitingForTurn, h.delayMs, h.lastTurnInMs === null ? null : relative(h.lastTurnInMs), h.lastRequestAgoMs === null ? null : relative(-h.lastRequestAgoMs)]),
          ),
        );
      }
      console.log(
        renderTable(
          ['source', 'last successful fetch', 'last outcome'],
          fetches.rows.map((row) => [row.key, row.last_ok?.toISOString() ?? 'never', row.last_outcome]),
        ),
      );
      const total = rejects.rows.reduce((sum, row) => sum + row.n, 0);
      console.log(`rejects in the last day: ${total}${total ? ` (${rejects.rows.map((r) => `${r.reason} ${r.n}`).join(', ')})` : ''}`);
    });
};
