import type { Pool } from '@nst/shared/db';

export interface SourceDocumentRow {
  id: number;
  source_key: string;
  url: string;
  final_url: string;
  content_type: string | null;
  charset: string | null;
  format: string;
  text: string | null;
  body_size: number;
  sha256_bytes: string;
  published_at: Date | null;
  fetched_at: Date;
}

/** The archived copy of a document a figure or a news item came from; undefined for any other id. */
export async function selectDocument(pool: Pool, id: number): Promise<SourceDocumentRow | undefined> {
  const { rows } = await pool.query<SourceDocumentRow>(
    `SELECT id, source_key, url, final_url, content_type, charset, format, text, body_size, sha256_bytes,
            published_at, fetched_at
     FROM agg.source_document WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** The verbatim archived bytes (gzip), for formats whose text is not readable (XLSX). */
export async function selectDocumentBody(pool: Pool, id: number): Promise<Buffer | undefined> {
  const { rows } = await pool.query<{ body_gzip: Buffer }>('SELECT body_gzip FROM agg.source_document WHERE id = $1', [id]);
  return rows[0]?.body_gzip;
}
