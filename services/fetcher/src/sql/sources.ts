import type { Pool } from '@nst/shared/db';
import { Source } from '@nst/shared/seeds';

const COLUMNS = 'key, name, publisher, district, format, url, schedule, lang, enabled, politeness, discovery';

const parseRow = (row: Record<string, unknown>) => Source.parse({ ...row, district: row.district ?? undefined });

/** The registry as loaded into raw.source (by `nst migrate` / `nst seed`). */
export async function loadSources(pool: Pool): Promise<Source[]> {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM raw.source ORDER BY key`);
  return rows.map(parseRow);
}

/** Parsed sources by the text of their row: validating a registry entry (cron, regexes) costs more than reading it. */
const parsedRows = new Map<string, Source>();

/**
 * One source of the registry as it is now (read per fetch job, so `nst seed` or an operator's
 * UPDATE applies to the next job without a restart). Only a row that changed is validated again.
 */
export async function findSourceByKey(pool: Pool, key: string): Promise<Source | undefined> {
  const { rows } = await pool.query({ name: 'fetcher-source-by-key', text: `SELECT ${COLUMNS} FROM raw.source WHERE key = $1`, values: [key] });
  if (!rows[0]) return undefined;
  const text = JSON.stringify(rows[0]);
  let source = parsedRows.get(text);
  if (!source) {
    source = parseRow(rows[0]);
    if (parsedRows.size >= 1_000) parsedRows.clear();
    parsedRows.set(text, source);
  }
  return source;
}
