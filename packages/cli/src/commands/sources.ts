import type { Register } from '../main';
import { renderTable } from '../table';

export const registerSources: Register = (program, context) => {
  program
    .command('sources')
    .description('the source registry (seeds/sources.yaml) with each source\'s last fetch')
    .option('--json', 'print JSON lines instead of a table')
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const pool = await ctx.db();
      const { sources } = await (await import('@nst/shared/seeds')).loadSeeds();
      const { rows } = await pool.query<{ source_key: string; outcome: string; http_status: number | null; at: Date; error_code: string | null }>(
        `SELECT DISTINCT ON (source_key) source_key, outcome, http_status, at, error_code
         FROM raw.fetch_log ORDER BY source_key, at DESC`,
      );
      const last = new Map(rows.map((row) => [row.source_key, row]));
      if (options.json) {
        for (const s of sources) console.log(JSON.stringify({ ...s, lastFetch: last.get(s.key) ?? null }));
        return;
      }
      console.log(
        renderTable(
          ['key', 'district', 'format', 'schedule', 'enabled', 'url', 'last fetch'],
          sources.map((s) => {
            const l = last.get(s.key);
            return [s.key, s.district, s.format, s.schedule, s.enabled ? 'yes' : 'no', s.url,
              l ? `${l.outcome}${l.error_code ? ` (${l.error_code})` : ''} ${l.at.toISOString()}` : 'never'];
          }),
        ),
      );
    });
};
