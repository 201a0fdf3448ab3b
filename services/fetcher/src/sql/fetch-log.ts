import type { Pool } from '@nst/shared/db';

export type FetchOutcome = 'archived' | 'unchanged' | 'not_modified' | 'retry' | 'failed' | 'refused' | 'skipped';

export interface FetchLogEntry {
  sourceKey: string;
  url: string;
  jobId?: string;
  attempt: number;
  outcome: FetchOutcome;
  httpStatus?: number | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  documentId?: number | null;
  durationMs: number;
}

/** Record one fetch attempt, whatever its outcome. */
export async function insertFetchLog(pool: Pool, entry: FetchLogEntry): Promise<void> {
  await pool.query(
    `INSERT INTO raw.fetch_log (source_key, url, job_id, attempt, outcome, http_status, error_code, error_message, document_id, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [entry.sourceKey, entry.url, entry.jobId ?? null, entry.attempt, entry.outcome, entry.httpStatus ?? null,
      entry.errorCode ?? null, entry.errorMessage?.slice(0, 2000) ?? null, entry.documentId ?? null, Math.round(entry.durationMs)],
  );
}
