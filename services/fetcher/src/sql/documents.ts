/** The archive: raw.document reads and writes of the fetcher. */
import { gzipSync } from 'node:zlib';
import type { Pool } from '@nst/shared/db';
import { RetryableError } from '@nst/shared/errors';
import type { Source } from '@nst/shared/seeds';
import { FIRST_COPY_VERSION } from '../canonical';
import { FETCH_LOG_COLUMNS, fetchLogValues, type FetchLogEntry } from './fetch-log';
import { SOURCE_COLUMNS, sourceFromRow } from './sources';

const UNIQUE_VIOLATION = '23505';

/** Error code of a first copy that lost its race (see {@link archiveDocument}). */
export const FIRST_COPY_RACE = 'first_copy_race';

export interface ArchivedDocument {
  id: number;
  etag: string | null;
  lastModified: string | null;
  text: string | null;
  normalizedAt: Date | null;
  /** Version of the canonical form its `sha256_canonical` was computed under. */
  canonicalVersion: number;
}

/**
 * The statement of {@link findSourceAndLatest}, with or without the copy's text. Prepared:
 * document_latest_copy_idx (migration 0018) is in the lookup's order, so the generic plan a
 * connection settles on, even while the archive is empty, reads one index entry.
 */
function sourceAndLatestStatement(withText: boolean): { name: string; text: string } {
  return {
    name: withText ? 'fetcher-source-latest-text' : 'fetcher-source-latest',
    text: `SELECT ${SOURCE_COLUMNS.map((column) => `s.${column}`).join(', ')},
            d.id AS latest_id, d.etag AS latest_etag, d.last_modified AS latest_last_modified, d.text AS latest_text,
            d.normalized_at AS latest_normalized_at, d.canonical_version AS latest_canonical_version
     FROM raw.source s
     LEFT JOIN LATERAL (
       SELECT id, etag, last_modified, ${withText ? 'text' : 'NULL AS text'}, normalized_at, canonical_version FROM raw.document
       WHERE source_key = s.key AND url = COALESCE($2, s.url) ORDER BY fetched_at DESC, id DESC LIMIT 1) d ON true
     WHERE s.key = $1`,
  };
}
const SOURCE_AND_LATEST = sourceAndLatestStatement(false);
const SOURCE_AND_LATEST_WITH_TEXT = sourceAndLatestStatement(true);

/**
 * A fetch job's source as the registry holds it now (read per job, so `nst seed` or an operator's
 * UPDATE applies to the next job without a restart) and the latest archived copy of the URL it
 * fetches (`url`, or the source's own when null), for conditional GET and for discovery on a 304:
 * one round trip for both. The copy's text is read only when asked for (`withText`, list pages):
 * a document's is never needed here. Undefined when the source is not in the registry.
 */
export async function findSourceAndLatest(pool: Pool, sourceKey: string, url: string | null, options: { withText: boolean }): Promise<{ source: Source; latest?: ArchivedDocument } | undefined> {
  const statement = options.withText ? SOURCE_AND_LATEST_WITH_TEXT : SOURCE_AND_LATEST;
  const { rows } = await pool.query({ ...statement, values: [sourceKey, url] });
  const row = rows[0];
  if (!row) return undefined;
  const source = sourceFromRow(Object.fromEntries(SOURCE_COLUMNS.map((column) => [column, row[column]])));
  if (row.latest_id === null) return { source };
  return {
    source,
    latest: {
      id: row.latest_id,
      etag: row.latest_etag,
      lastModified: row.latest_last_modified,
      text: row.latest_text,
      normalizedAt: row.latest_normalized_at,
      canonicalVersion: row.latest_canonical_version,
    },
  };
}

/** The stored (decoded) text of an archived copy; null for a copy archived as bytes only. */
export async function findDocumentText(pool: Pool, id: number): Promise<string | null> {
  const { rows } = await pool.query<{ text: string | null }>('SELECT text FROM raw.document WHERE id = $1', [id]);
  return rows[0]?.text ?? null;
}

/**
 * Record an archived copy's canonical hash under a newer version of the canonical form (the caller
 * re-hashed its stored text; `sha256Canonical` null keeps the hash, for a copy hashed by its bytes,
 * which no version changes). Returns whether the row changed.
 *
 * A no-op when the row is already at that version (a duplicate job got there first: the WHERE is
 * re-checked on the row it waited for) and when another copy of the URL already holds that hash
 * (rows of an older fetcher during a rolling deploy): the unique key forbids two, and the page then
 * meets that other copy in {@link archiveDocument}.
 */
export async function upgradeCanonicalHash(pool: Pool, upgrade: { id: number; sha256Canonical: string | null; canonicalVersion: number }): Promise<boolean> {
  try {
    const { rowCount } = await pool.query(
      `UPDATE raw.document d SET sha256_canonical = COALESCE($2, d.sha256_canonical), canonical_version = $3
       WHERE d.id = $1 AND d.canonical_version < $3
         AND NOT EXISTS (SELECT 1 FROM raw.document o
                         WHERE o.source_key = d.source_key AND o.url = d.url AND o.sha256_canonical = $2 AND o.id <> d.id)`,
      [upgrade.id, upgrade.sha256Canonical, upgrade.canonicalVersion],
    );
    return rowCount === 1;
  } catch (error) {
    // A concurrent job archived that hash after the NOT EXISTS looked: the same case, lost a race.
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return false;
    throw error;
  }
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
  /** Version of the canonical form `sha256Canonical` was computed under. */
  canonicalVersion: number;
  etag: string | null;
  lastModified: string | null;
  publishedAt: Date | null;
  role: 'list' | 'document';
  format: string;
}

/** The fetch-log row of an attempt that archives a document (its outcome `archived`, its document the new row). */
export type ArchivedLogEntry = Omit<FetchLogEntry, 'outcome' | 'documentId' | 'errorCode' | 'errorMessage'>;

/**
 * Archive a document unless the same canonical content of the same URL is already archived.
 * Returns the document id and whether this call inserted it. When it does, `log` is written to
 * raw.fetch_log by the same statement (outcome `archived`); otherwise the caller logs the attempt.
 *
 * A first copy (FIRST_COPY_VERSION, hashed by its URL) is archived only while the URL has no copy
 * at all: a duplicate job that found none, then lost the race to another job whose copy a third
 * has since hashed canonically, would otherwise archive the page twice. That job fails retryably
 * ({@link FIRST_COPY_RACE}): its retry reads the copy now there and compares with it.
 */
export async function archiveDocument(pool: Pool, doc: NewDocument, log: ArchivedLogEntry): Promise<{ id: number; inserted: boolean; normalizedAt: Date | null }> {
  const inserted = await pool.query<{ id: number }>({
    name: 'fetcher-archive-document',
    text: `WITH archived AS (
       INSERT INTO raw.document (source_key, url, final_url, http_status, headers, content_type, charset, body_gzip, body_size,
                                 text, sha256_bytes, sha256_canonical, etag, last_modified, published_at, role, format, canonical_version)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18::smallint
       WHERE $18::smallint <> ${FIRST_COPY_VERSION} OR NOT EXISTS (SELECT 1 FROM raw.document WHERE source_key = $1 AND url = $2)
       ON CONFLICT (source_key, url, sha256_canonical) DO NOTHING
       RETURNING id),
     logged AS (
       INSERT INTO raw.fetch_log (${FETCH_LOG_COLUMNS}, document_id)
       SELECT $19, $20, $21, $22, $23, $24, $25, $26, $27, id FROM archived)
     SELECT id FROM archived`,
    values: [doc.sourceKey, doc.url, doc.finalUrl, doc.httpStatus, JSON.stringify(doc.headers), doc.contentType, doc.charset,
      // PostgreSQL text cannot hold NUL; the verbatim bytes keep it, the convenience text drops it.
      gzipSync(doc.body), doc.body.length, doc.text?.replaceAll('\u0000', '') ?? null, doc.sha256Bytes, doc.sha256Canonical, doc.etag, doc.lastModified,
      doc.publishedAt, doc.role, doc.format, doc.canonicalVersion,
      ...fetchLogValues({ ...log, outcome: 'archived' })],
  });
  if (inserted.rows[0]) return { id: inserted.rows[0].id, inserted: true, normalizedAt: null };
  const existing = await pool.query<{ id: number; normalized_at: Date | null }>(
    'SELECT id, normalized_at FROM raw.document WHERE source_key = $1 AND url = $2 AND sha256_canonical = $3',
    [doc.sourceKey, doc.url, doc.sha256Canonical],
  );
  const row = existing.rows[0];
  if (row === undefined) {
    // Neither archived nor there: a first copy whose URL has a copy hashed otherwise (see above).
    throw new RetryableError(FIRST_COPY_RACE, `${doc.url}: another job archived the URL's first copy meanwhile; fetched again to compare with it`);
  }
  // The validators of the newest response replace the old ones, so the next GET can be conditional.
  await pool.query(
    `UPDATE raw.document SET etag = $2, last_modified = $3
     WHERE id = $1 AND (etag, last_modified) IS DISTINCT FROM ($2, $3)`,
    [row.id, doc.etag, doc.lastModified],
  );
  return { id: row.id, inserted: false, normalizedAt: row.normalized_at };
}
