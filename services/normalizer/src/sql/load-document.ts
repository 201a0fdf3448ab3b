import { gunzipSync } from 'node:zlib';
import type { Pool } from '@nst/shared/db';
import type { District } from '@nst/shared/domain';
import { NonRetryableError } from '@nst/shared/errors';
import type { ParseInput } from '../records';

export interface ArchivedDocument {
  id: number;
  sourceKey: string;
  url: string;
  role: 'list' | 'document';
  fetchedAt: Date;
  publishedAt: Date | null;
  /** Digest of the records last stored from this document (null: never stored with one). */
  recordsDigest: string | null;
  input: ParseInput;
}

/** Read one archived document and what the parsers need from its source: no network, ever. */
export async function loadDocument(pool: Pool, documentId: number): Promise<ArchivedDocument> {
  const { rows } = await pool.query(
    `SELECT d.id, d.source_key, d.url, d.role, d.format, d.content_type, d.body_gzip, d.text, d.fetched_at, d.published_at, d.records_digest,
            s.district, s.lang
     FROM raw.document d JOIN raw.source s ON s.key = d.source_key WHERE d.id = $1`,
    [documentId],
  );
  const row = rows[0];
  if (!row) throw new NonRetryableError('document_not_found', `document ${documentId} is not in the archive`);
  let bytes: Buffer;
  try {
    bytes = gunzipSync(row.body_gzip as Buffer);
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `document ${documentId}: archived body is not valid gzip`, { cause: error });
  }
  return {
    id: row.id,
    sourceKey: row.source_key,
    url: row.url,
    role: row.role,
    fetchedAt: row.fetched_at,
    publishedAt: row.published_at,
    recordsDigest: row.records_digest,
    input: {
      bytes,
      text: row.text ?? undefined,
      contentType: row.content_type ?? undefined,
      url: row.url,
      format: row.format,
      district: (row.district ?? undefined) as District | undefined,
      lang: row.lang,
      fetchedAt: row.fetched_at,
    },
  };
}
