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

/** raw.fetch_log's columns but `document_id`, in the order of {@link fetchLogValues}: one definition for every writer. */
export const FETCH_LOG_COLUMNS = 'source_key, url, job_id, attempt, outcome, http_status, error_code, error_message, duration_ms';

/** The values of {@link FETCH_LOG_COLUMNS} for an attempt. */
export function fetchLogValues(entry: Omit<FetchLogEntry, 'documentId'>): unknown[] {
  return [entry.sourceKey, entry.url, entry.jobId ?? null, entry.attempt, entry.outcome, entry.httpStatus ?? null,
    entry.errorCode ?? null, entry.errorMessage?.slice(0, 2000) ?? null, Math.round(entry.durationMs)];
}

/** Record one fetch attempt, whatever its outcome. */
export async function insertFetchLog(pool: Pool, entry: FetchLogEntry): Promise<void> {
  await pool.query(
    `INSERT INTO raw.fetch_log (${FETCH_LOG_COLUMNS}, document_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [...fetchLogValues(entry), entry.documentId ?? null],
  );
}
