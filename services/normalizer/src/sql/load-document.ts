import type { Pool } from '@nst/shared/db';
import type { District } from '@nst/shared/domain';
import { NonRetryableError } from '@nst/shared/errors';
import type { Settled } from '../batch';
import type { ArchivedInput } from '../archived-input';

export interface ArchivedDocument {
  id: number;
  sourceKey: string;
  url: string;
  role: 'list' | 'document';
  fetchedAt: Date;
  publishedAt: Date | null;
  /** Digest of the records last stored from this document (null: never stored with one). */
  recordsDigest: string | null;
  /** What the parsers read, still compressed (see inputFromArchive). */
  archived: ArchivedInput;
}

/** Read one archived document and what the parsers need from its source: no network, ever. */
export async function loadDocument(pool: Pool, documentId: number): Promise<ArchivedDocument> {
  const [result] = await loadDocuments(pool, [documentId]);
  if (!result!.ok) throw result!.error;
  return result!.value;
}

/** Read archived documents in one round trip; one that is not in the archive fails alone. */
export async function loadDocuments(pool: Pool, documentIds: readonly number[]): Promise<Array<Settled<ArchivedDocument>>> {
  // Not prepared (no `name`): the archive grows from empty under the fetcher, and where nothing
  // analyzes raw.document (autovacuum off or behind), a generic plan made while it was small scanned
  // the whole table for every batch, for as long as the connection lived (284 of the 600 loads of
  // an N = 200 benchmark run, 0.8 ms against 0.27 and growing with the archive). Planned for each
  // batch, it sees the table's size now and looks the ids up in its primary key.
  const { rows } = await pool.query({
    text: `SELECT d.id, d.source_key, d.url, d.role, d.format, d.content_type, d.body_gzip, d.text IS NOT NULL AS has_text, d.charset, d.fetched_at, d.published_at,
                  d.records_digest, s.district, s.lang
           FROM raw.document d JOIN raw.source s ON s.key = d.source_key WHERE d.id = ANY($1::bigint[])`,
    values: [documentIds],
  });
  const byId = new Map(rows.map((row) => [row.id as number, row]));
  return documentIds.map((documentId): Settled<ArchivedDocument> => {
    const row = byId.get(documentId);
    if (!row) return { ok: false, error: new NonRetryableError('document_not_found', `document ${documentId} is not in the archive`) };
    return {
      ok: true,
      value: {
        id: row.id,
        sourceKey: row.source_key,
        url: row.url,
        role: row.role,
        fetchedAt: row.fetched_at,
        publishedAt: row.published_at,
        recordsDigest: row.records_digest,
        archived: {
          documentId,
          bodyGzip: row.body_gzip,
          hasText: row.has_text,
          charset: row.charset ?? undefined,
          contentType: row.content_type ?? undefined,
          url: row.url,
          format: row.format,
          district: (row.district ?? undefined) as District | undefined,
          lang: row.lang,
          fetchedAt: row.fetched_at,
        },
      },
    };
  });
}
