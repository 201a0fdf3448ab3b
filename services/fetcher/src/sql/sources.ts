import type { Pool } from '@nst/shared/db';
import { Source } from '@nst/shared/seeds';

/** The registry as loaded into raw.source (by `nst migrate` / `nst seed`). */
export async function loadSources(pool: Pool): Promise<Source[]> {
  const { rows } = await pool.query(
    'SELECT key, name, publisher, district, format, url, schedule, lang, enabled, politeness, discovery FROM raw.source ORDER BY key',
  );
  return rows.map((row) => Source.parse({ ...row, district: row.district ?? undefined }));
}
