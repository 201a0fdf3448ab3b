/** The archive: raw.document reads and writes of the fetcher. */
import { gzipSync } from 'node:zlib';
import type { Pool } from '@nst/shared/db';

export interface ArchivedDocument {
  id: number;
  etag: string | null;
  lastModified: string | null;
  text: string | null;
  normalizedAt: Date | null;
}

/**
 * The latest archived copy of a URL (for conditional GET and for discovery on a 304). Its text is
 * read only when asked for (`withText`, list pages): a document's is never needed here.
 */
export async function findLatestDocument(pool: Pool, sourceKey: string, url: string, options: { withText?: boolean } = {}): Promise<ArchivedDocument | undefined> {
  const { rows } = await pool.query(
    `SELECT id, etag, last_modified, ${options.withText === false ? 'NULL AS text' : 'text'}, normalized_at FROM raw.document
     WHERE source_key = $1 AND url = $2 ORDER BY fetched_at DESC, id DESC LIMIT 1`,
    [sourceKey, url],
  );
  const row = rows[0];
  return row && { id: row.id, etag: row.etag, lastModified: row.last_modified, text: row.text, normalizedAt: row.normalized_at };
}

/** Of `urls`, those already archived for the source. */
export async function findArchivedUrls(pool: Pool, sourceKey: string, urls: readonly string[]): Promise<Map<string, { id: number; normalizedAt: Date | null }>> {
  if (urls.length === 0) return new Map();
  const { rows } = await pool.query<{ url: string; id: number; normalized_at: Date | null }>(
    `SELECT DISTINCT ON (url) url, id, normalized_at FROM raw.document
     WHERE source_key = $1 AND url = ANY($2::text[]) ORDER BY url, fetched_at DESC, id DESC`,
    [sourceKey, urls],
  );
  return new Map(rows.map((row) => [row.url, { id: row.id, normalizedAt: row.normalized_at }]));
}

export interface NewDocument {
  sourceKey: string;
  url: string;
  finalUrl: string;
  httpStatus: number;
  headers: Record<string, string>;
  contentType: string | null;
  charset: string | null;
  body: Buffer;
  text: string | null;
  sha256Bytes: string;
  sha256Canonical: string;
  etag: string | null;
  lastModified: string | null;
  publishedAt: Date | null;
  role: 'list' | 'document';
  format: string;
}

/**
 * Archive a document unless the same canonical content of the same URL is already archived.
 * Returns the document id and whether this call inserted it.
 */
export async function archiveDocument(pool: Pool, doc: NewDocument): Promise<{ id: number; inserted: boolean; normalizedAt: Date | null }> {
  const inserted = await pool.query<{ id: number }>(
    `INSERT INTO raw.document (source_key, url, final_url, http_status, headers, content_type, charset, body_gzip, body_size,
                               text, sha256_bytes, sha256_canonical, etag, last_modified, published_at, role, format)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
     ON CONFLICT (source_key, url, sha256_canonical) DO NOTHING
     RETURNING id`,
    [doc.sourceKey, doc.url, doc.finalUrl, doc.httpStatus, JSON.stringify(doc.headers), doc.contentType, doc.charset,
      // PostgreSQL text cannot hold NUL; the verbatim bytes keep it, the convenience text drops it.
      gzipSync(doc.body), doc.body.length, doc.text?.replaceAll('\u0000', '') ?? null, doc.sha256Bytes, doc.sha256Canonical, doc.etag, doc.lastModified,
      doc.publishedAt, doc.role, doc.format],
  );
  if (inserted.rows[0]) return { id: inserted.rows[0].id, inserted: true, normalizedAt: null };
  const existing = await pool.query<{ id: number; normalized_at: Date | null }>(
    'SELECT id, normalized_at FROM raw.document WHERE source_key = $1 AND url = $2 AND sha256_canonical = $3',
    [doc.sourceKey, doc.url, doc.sha256Canonical],
  );
  const row = existing.rows[0]!;
  // The validators of the newest response replace the old ones, so the next GET can be conditional.
  await pool.query(
    `UPDATE raw.document SET etag = $2, last_modified = $3
     WHERE id = $1 AND (etag, last_modified) IS DISTINCT FROM ($2, $3)`,
    [row.id, doc.etag, doc.lastModified],
  );
  return { id: row.id, inserted: false, normalizedAt: row.normalized_at };
}
