import { enqueueBulk, jobId } from '@nst/shared/jobs';
import { NstError } from '@nst/shared/errors';
import type { Register } from '../main';

export const registerReprocess: Register = (program, context) => {
  program
    .command('reprocess')
    .description('re-normalize archived documents (no network), e.g. after a parser fix')
    .option('--source <key>', 'only this source')
    .option('--since <date>', 'only documents fetched at or after this date')
    .option('--parser-version <version>', 'only documents last normalized by this parser version')
    .option('--inline', 'normalize and aggregate in this process instead of the services, and wait')
    .option('--full', 'store every record again, even where the parse gives exactly what was stored (after a storage change)')
    .action(async (options: { source?: string; since?: string; parserVersion?: string; inline?: boolean; full?: boolean }) => {
      const since = options.since ? new Date(options.since) : undefined;
      if (since && Number.isNaN(since.getTime())) throw new NstError('usage', `--since must be a date (got "${options.since}")`);
      const ctx = context();
      const pool = await ctx.db();
      const { rows } = await pool.query<{ id: number }>(
        `SELECT id FROM raw.document
         WHERE role = 'document' AND ($1::text IS NULL OR source_key = $1) AND ($2::timestamptz IS NULL OR fetched_at >= $2)
           AND ($3::text IS NULL OR parser_version = $3)
         ORDER BY id`,
        [options.source ?? null, since ?? null, options.parserVersion ?? null],
      );
      const queues = await ctx.queues();
      const batch = new Date().toISOString();
      // The services' modules only when this process runs them (--inline): the usual enqueue starts faster.
      const inline = options.inline ? await import('../pipeline') : undefined;
      const pipeline = inline ? await inline.startPipeline(ctx, { stages: ['normalize', 'aggregate'] }) : undefined;
      try {
        // A fresh id per run: the archive's own normalize job (doc|id) is kept as history.
        await enqueueBulk(queues, 'normalize-document', rows.map((row) => ({
          payload: { documentId: row.id, reason: 'reprocess' as const, ...(options.full ? { full: true } : {}) },
          options: { jobId: jobId('reprocess', row.id, batch) },
        })));
        console.error(`reprocess: ${rows.length} documents enqueued`);
        if (inline) await inline.waitForDrain(ctx, { label: 'reprocess' });
      } finally {
        await pipeline?.close();
      }
      console.log(`reprocessed ${rows.length} documents${pipeline ? '' : ' (enqueued for the normalizer service)'}`);
    });
};
