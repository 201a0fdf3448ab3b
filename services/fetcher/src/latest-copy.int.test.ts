/**
 * The fetcher's look-ups of a URL's latest archived copy (conditional GET, discovery on a 304, the
 * links a list page already archived) are prepared statements: the plan a connection settles on
 * must still find the newest copy of that URL of that source, whatever else the archive holds.
 * Real PostgreSQL, with the generic plan forced from the first call.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@nst/shared/db';
import { createTestDatabase, type TestDatabase } from '@nst/shared/testing';
import { findArchivedUrls, findSourceAndLatest } from './sql/documents';

const SOURCE = 'bs-bulletin';
const OTHER_SOURCE = 'js-news';
const URL_A = 'https://xxgk.shbsq.gov.cn/latest-copy/a.html';
const URL_B = 'https://xxgk.shbsq.gov.cn/latest-copy/b.html';

describe('the latest archived copy of a URL', () => {
  let db: TestDatabase;
  /** One connection, so that its prepared statements are the ones looked at. */
  let pool: Pool;
  let copies = 0;

  /** Archive a copy of `url` for `source`, fetched at `fetchedAt`; returns its id. */
  async function archive(source: string, url: string, fetchedAt: string): Promise<number> {
    copies += 1;
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, body_gzip, body_size, text, sha256_bytes, sha256_canonical, role, format, fetched_at)
       VALUES ($1, $2, $2, 200, $3, 0, $4, $5, $5, 'document', 'bulletin', $6) RETURNING id`,
      [source, url, gzipSync(Buffer.alloc(0)), `copy ${copies}`, copies.toString(16).padStart(64, '0'), fetchedAt],
    );
    return rows[0]!.id;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    pool = createPool(db.url, { max: 1, applicationName: 'nst-test-latest-copy' });
    // The plan a statement settles on after its first executions, used from the first one here.
    await pool.query('SET plan_cache_mode = force_generic_plan');
  });

  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('is the one fetched last, the last archived among copies fetched at the same instant, of that source only', async () => {
    // Prepared while the archive is empty: the plan must not depend on what the archive held then.
    expect((await findSourceAndLatest(pool, SOURCE, URL_A, { withText: false }))?.latest).toBeUndefined();

    await archive(SOURCE, URL_A, '2026-01-01T00:00:00Z');
    const tieFirst = await archive(SOURCE, URL_A, '2026-03-01T00:00:00Z');
    const tieLast = await archive(SOURCE, URL_A, '2026-03-01T00:00:00Z');
    await archive(SOURCE, URL_A, '2026-02-01T00:00:00Z');
    await archive(OTHER_SOURCE, URL_A, '2026-06-01T00:00:00Z');
    await archive(SOURCE, URL_B, '2026-07-01T00:00:00Z');
    expect(tieLast).toBeGreaterThan(tieFirst);

    const found = await findSourceAndLatest(pool, SOURCE, URL_A, { withText: false });
    expect(found?.source.key).toBe(SOURCE);
    expect(found?.latest).toMatchObject({ id: tieLast, text: null });
    const withText = await findSourceAndLatest(pool, SOURCE, URL_A, { withText: true });
    expect(withText?.latest).toMatchObject({ id: tieLast, text: expect.stringMatching(/^copy \d+$/) });

    const archived = await findArchivedUrls(pool, SOURCE, [URL_A, URL_B, 'https://xxgk.shbsq.gov.cn/latest-copy/none.html']);
    expect([...archived.keys()].sort()).toEqual([URL_A, URL_B]);
    expect(archived.get(URL_A)?.id).toBe(tieLast);

    // Both statements ran on the generic plan, not on plans made for their parameters.
    const { rows } = await pool.query<{ name: string; generic_plans: string }>(
      "SELECT name, generic_plans FROM pg_prepared_statements WHERE name LIKE 'fetcher-source-latest%' ORDER BY name",
    );
    expect(rows.map((row) => [row.name, Number(row.generic_plans) > 0])).toEqual([['fetcher-source-latest', true], ['fetcher-source-latest-text', true]]);
  });

  it("is the source's own URL's when the job names no URL", async () => {
    const { rows } = await db.pool.query<{ url: string }>('SELECT url FROM raw.source WHERE key = $1', [SOURCE]);
    const own = rows[0]!.url;
    await archive(SOURCE, own, '2026-01-01T00:00:00Z');
    const newest = await archive(SOURCE, own, '2026-04-01T00:00:00Z');
    expect((await findSourceAndLatest(pool, SOURCE, null, { withText: false }))?.latest?.id).toBe(newest);
    expect(await findSourceAndLatest(pool, 'no-such-source', null, { withText: false })).toBeUndefined();
  });
});
