import type { Pool } from '@nst/shared/db';
import { Source } from '@nst/shared/seeds';

/** raw.source's columns that make a Source. */
export const SOURCE_COLUMNS = ['key', 'name', 'publisher', 'district', 'format', 'url', 'schedule', 'lang', 'enabled', 'politeness', 'discovery'] as const;

const parseRow = (row: Record<string, unknown>) => Source.parse({ ...row, district: row.district ?? undefined });

/** The registry as loaded into raw.source (by `nst migrate` / `nst seed`). */
export async function loadSources(pool: Pool): Promise<Source[]> {
  const { rows } = await pool.query(`SELECT ${SOURCE_COLUMNS.join(', ')} FROM raw.source ORDER BY key`);
  return rows.map(parseRow);
}

/** Parsed sources by the text of their row: validating a registry entry (cron, regexes) costs more than reading it. */
const parsedRows = new Map<string, Source>();

/** A raw.source row of {@link SOURCE_COLUMNS} as a Source; only a row that changed is validated again. */
export function sourceFromRow(row: Record<string, unknown>): Source {
  const text = JSON.stringify(row);
  let source = parsedRows.get(text);
  if (!source) {
    source = parseRow(row);
    if (parsedRows.size >= 1_000) parsedRows.clear();
    parsedRows.set(text, source);
  }
  return source;
}
