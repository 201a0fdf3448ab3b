import { QUEUE_NAMES } from '@nst/shared/jobs';
import type { Register } from '../main';
import { renderTable } from '../table';

export const registerStatus: Register = (program, context) => {
  program
    .command('status')
    .description('queue depths, last successful fetch per source, rejects in the last day')
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
      const fetches = await pool.query<{ key: string; last_ok: Date | null; last_outcome: string | null }>(
        `SELECT s.key,
                (SELECT max(at) FROM raw.fetch_log f WHERE f.source_key = s.key AND f.outcome IN ('archived', 'unchanged', 'not_modified')) AS last_ok,
                (SELECT outcome FROM raw.fetch_log f WHERE f.source_key = s.key ORDER BY at DESC LIMIT 1) AS last_outcome
         FROM raw.source s WHERE s.enabled ORDER BY s.key`,
      );
      const rejects = await pool.query<{ reason: string; n: number }>(
        `SELECT reason, count(*)::int AS n FROM core.reject WHERE created_at > now() - interval '1 day' GROUP BY reason ORDER BY n DESC`,
      );
      if (options.json) {
        console.log(JSON.stringify({ queues: queueRows, sources: fetches.rows, rejectsLastDay: rejects.rows }));
        return;
      }
      console.log(
        renderTable(
          ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'oldest waiting (s)'],
          queueRows.map((q) => [q.queue, q.waiting, q.active, q.delayed, q.failed, q.completed, q.oldestWaitingAgeS]),
        ),
      );
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
