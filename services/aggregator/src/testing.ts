/** Test helpers of the aggregator (not part of the service). */
import { gzipSync } from 'node:zlib';
import type { Pool } from '@nst/shared/db';

/** An empty archived bulletin for observations to point at; returns its id. */
export async function archiveEmptyDocument(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO raw.document (source_key, url, final_url, http_status, body_gzip, body_size, sha256_bytes, sha256_canonical, role, format)
     VALUES ('bs-bulletin', 'https://xxgk.shbsq.gov.cn/t.html', 'https://xxgk.shbsq.gov.cn/t.html', 200, $1, 0, $2, $2, 'document', 'bulletin') RETURNING id`,
    [gzipSync(Buffer.alloc(0)), 'a'.repeat(64)],
  );
  return rows[0]!.id;
}
