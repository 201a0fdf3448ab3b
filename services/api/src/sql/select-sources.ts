import type { Pool } from '@nst/shared/db';

export interface SourceStatusRow {
  key: string;
  name: string;
  publisher: string;
  district: string | null;
  format: string;
  url: string;
  schedule: string;
  lang: string;
  enabled: boolean;
  last_fetch_at: Date | null;
  last_outcome: string | null;
  last_http_status: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  last_duration_ms: number | null;
  last_success_at: Date | null;
  documents: number;
}

export async function selectSources(pool: Pool): Promise<SourceStatusRow[]> {
  const { rows } = await pool.query<SourceStatusRow>(
    `SELECT key, name, publisher, district, format, url, schedule, lang, enabled, last_fetch_at, last_outcome,
            last_http_status, last_error_code, last_error_message, last_duration_ms, last_success_at, documents
     FROM agg.source_status
     ORDER BY key`,
  );
  return rows;
}
