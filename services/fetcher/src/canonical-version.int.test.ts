/**
 * A change of the canonical form must not make every archived page look changed: a copy hashed
 * under an older version is re-hashed from its stored text when its URL is fetched again, and so is
 * a URL's first copy, which holds a placeholder until then. Against the offline publisher, real
 * Redis and real PostgreSQL.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enqueue, jobId, type Queues } from '@nst/shared/jobs';
import { waitForQueuesIdle, type TestDatabase } from '@nst/shared/testing';
import { RetryableError } from '@nst/shared/errors';
import { CANONICAL_VERSION, canonicalText, FIRST_COPY_VERSION, firstCopyHash, sha256 } from './canonical';
import { archiveDocument, FIRST_COPY_RACE } from './sql/documents';
import { FIXTURES_DIR, type Publisher } from './publisher/server';
import { startFetcherHarness, type FetcherHarness } from './testing';
import { fetchJobOptions } from './worker';

/** A js-news article whose view count (`<b id="views">2139</b>`) changes on every visit. */
const PATH = 'www.jinshan.gov.cn/jsyw/20250211/6661cdef-f493-4c6b-a3b4-dfe6c96e3d80.html';
const PAGE_URL = `https://${PATH}`;
const SOURCE = 'js-news';
/** What version 1 (the DOM) might have hashed the page to: anything but the current hash. */
const OLD_HASH = sha256('canonical text of the page under version 1');

interface DocumentRow {
  id: number;
  sha256_canonical: string;
  canonical_version: number;
  text: string;
}

describe('archived copies of an older canonical version', () => {
  let db: TestDatabase;
  let publisher: Publisher;
  let harness: FetcherHarness;
  let queues: Queues;
  let fixture: string;
  let run = 0;

  beforeAll(async () => {
    harness = await startFetcherHarness({ name: 'canonical-version.int.test', attempts: 2 });
    ({ db, publisher, queues } = harness);
    fixture = await readFile(`${FIXTURES_DIR}/sites/${PATH}`, 'utf8');
  });

  afterAll(async () => {
    await harness.close();
  });

  // Each test starts from one copy of the page, archived by the current fetcher and normalized.
  let archivedId: number;
  beforeEach(async () => {
    await db.pool.query('DELETE FROM raw.fetch_log');
    await db.pool.query('DELETE FROM raw.document WHERE url = $1', [PAGE_URL]);
    const outcomes = await fetchPage(1);
    expect(outcomes).toEqual(['archived']);
    archivedId = (await documents())[0]!.id;
    await db.pool.query('UPDATE raw.document SET normalized_at = now() WHERE id = $1', [archivedId]);
    await queues.normalize.obliterate({ force: true });
  });
  afterEach(() => publisher.clearFaults());

  /** Fetch the page `times` times at once (forced: no conditional GET, no "already archived"); the outcomes. */
  async function fetchPage(times: number): Promise<string[]> {
    run += 1;
    const ids = [];
    for (let i = 0; i < times; i += 1) {
      ids.push(await enqueue(queues, 'fetch-source', { sourceKey: SOURCE, url: PAGE_URL, role: 'document', force: true, tick: `run-${run}` }, { ...fetchJobOptions(2, 20), jobId: jobId('canonical', String(run), String(i)) }));
    }
    await waitForQueuesIdle([queues.fetch], { timeoutMs: 30_000 });
    // Each job's last attempt: a job that lost a first copy's race is retried (archiveDocument).
    const { rows } = await db.pool.query<{ outcome: string }>(
      'SELECT outcome FROM (SELECT DISTINCT ON (job_id) id, outcome FROM raw.fetch_log WHERE job_id = ANY($1::text[]) ORDER BY job_id, attempt DESC, id DESC) last ORDER BY id',
      [ids],
    );
    return rows.map((row) => row.outcome);
  }

  const documents = () =>
    db.pool.query<DocumentRow>('SELECT id::int, sha256_canonical, canonical_version, text FROM raw.document WHERE url = $1 ORDER BY id', [PAGE_URL]).then((r) => r.rows);
  const normalizeJobs = () => queues.normalize.getJobCounts('waiting', 'delayed', 'prioritized').then((c) => Object.values(c).reduce((a, b) => a + b, 0));

  /** Make the archived copy look like one archived before this version: its old hash, version 1. */
  async function makeOld(id: number, text?: string): Promise<void> {
    await db.pool.query('UPDATE raw.document SET sha256_canonical = $2, canonical_version = 1, text = COALESCE($3, text) WHERE id = $1', [id, OLD_HASH, text ?? null]);
  }

  it('a first copy holds its URL\'s placeholder until the URL is fetched again, and is then hashed in place; later copies are hashed at once', async () => {
    const [first] = await documents();
    expect(first).toMatchObject({ canonical_version: FIRST_COPY_VERSION, sha256_canonical: firstCopyHash(PAGE_URL) });
    // A new view count is not a change: the page meets its first copy, now hashed canonically.
    publisher.setFault(PATH, { kind: 'body', body: fixture.replace('>2139<', '>2140<'), contentType: 'text/html; charset=utf-8' });
    expect(await fetchPage(1)).toEqual(['unchanged']);
    expect(await documents()).toEqual([{ ...first, canonical_version: CANONICAL_VERSION, sha256_canonical: sha256(canonicalText(first!.text)) }]);
    expect(await normalizeJobs()).toBe(0);
    // A changed page is a second copy of the URL, hashed as it is archived.
    publisher.setFault(PATH, { kind: 'body', body: fixture.replace('</body>', '<p>更正：第三段数据有误。</p></body>'), contentType: 'text/html; charset=utf-8' });
    expect(await fetchPage(1)).toEqual(['archived']);
    const docs = await documents();
    expect(docs).toHaveLength(2);
    expect(docs[1]).toMatchObject({ canonical_version: CANONICAL_VERSION, sha256_canonical: sha256(canonicalText(docs[1]!.text)) });
    expect(await normalizeJobs()).toBe(1);
  });

  it('duplicate jobs of a first fetch archive one copy, as one job does', async () => {
    await db.pool.query('DELETE FROM raw.fetch_log');
    await db.pool.query('DELETE FROM raw.document WHERE url = $1', [PAGE_URL]);
    expect((await fetchPage(4)).sort()).toEqual(['archived', 'unchanged', 'unchanged', 'unchanged']);
    expect(await documents()).toHaveLength(1);
    expect(await normalizeJobs()).toBe(1);
  });

  it('a first copy is archived only while its URL has none: a job that found none, and lost the race to a copy since hashed, fails retryably', async () => {
    // The first copy, hashed canonically by a second fetch: its placeholder is free again.
    expect(await fetchPage(1)).toEqual(['unchanged']);
    const before = await documents();
    const body = Buffer.from(fixture);
    const late = archiveDocument(db.pool, {
      sourceKey: SOURCE, url: PAGE_URL, finalUrl: PAGE_URL, httpStatus: 200, headers: {}, contentType: 'text/html; charset=utf-8', charset: 'utf-8',
      body, text: fixture, sha256Bytes: sha256(body), sha256Canonical: firstCopyHash(PAGE_URL), canonicalVersion: FIRST_COPY_VERSION,
      etag: null, lastModified: null, publishedAt: null, role: 'document', format: 'news-article',
    }, { sourceKey: SOURCE, url: PAGE_URL, jobId: 'lost-the-race', attempt: 1, httpStatus: 200, durationMs: 1 });
    await expect(late).rejects.toBeInstanceOf(RetryableError);
    await expect(late).rejects.toMatchObject({ code: FIRST_COPY_RACE });
    expect(await documents()).toEqual(before);
    const { rows } = await db.pool.query("SELECT 1 FROM raw.fetch_log WHERE job_id = 'lost-the-race'");
    expect(rows).toHaveLength(0);
  });

  it('an unchanged page meets its old copy: no new row, no normalize job, the copy upgraded in place', async () => {
    await makeOld(archivedId);
    // A new view count is not a change.
    publisher.setFault(PATH, { kind: 'body', body: fixture.replace('>2139<', '>2140<'), contentType: 'text/html; charset=utf-8' });
    expect(await fetchPage(1)).toEqual(['unchanged']);
    const docs = await documents();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ id: archivedId, canonical_version: CANONICAL_VERSION, sha256_canonical: sha256(canonicalText(docs[0]!.text)) });
    expect(await normalizeJobs()).toBe(0);
    // Upgraded: the next fetch compares directly.
    expect(await fetchPage(1)).toEqual(['unchanged']);
    expect(await documents()).toEqual(docs);
  });

  it('a changed page is still archived as a new row and handed to the normalizer', async () => {
    await makeOld(archivedId);
    publisher.setFault(PATH, { kind: 'body', body: fixture.replace('</body>', '<p>更正：第三段数据有误。</p></body>'), contentType: 'text/html; charset=utf-8' });
    expect(await fetchPage(1)).toEqual(['archived']);
    const docs = await documents();
    expect(docs).toHaveLength(2);
    // Both now hashed under the current version: the old copy was re-hashed, the new one written so.
    for (const doc of docs) expect(doc).toMatchObject({ canonical_version: CANONICAL_VERSION, sha256_canonical: sha256(canonicalText(doc.text)) });
    expect(await normalizeJobs()).toBe(1);
  });

  it('duplicate jobs on an old copy leave what one job leaves', async () => {
    await makeOld(archivedId);
    expect(await fetchPage(4)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    const docs = await documents();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ id: archivedId, canonical_version: CANONICAL_VERSION });
    expect(await normalizeJobs()).toBe(0);
  });

  it('an old copy whose new hash another copy already holds stays as it is, and the page meets that copy', async () => {
    // The first copy, hashed by a second fetch.
    expect(await fetchPage(1)).toEqual(['unchanged']);
    // The newest copy is an old-version duplicate of the current-version one (an older fetcher
    // archived it during a rolling deploy): it cannot take the hash that copy holds.
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, headers, content_type, charset, body_gzip, body_size, text,
                                 sha256_bytes, sha256_canonical, etag, last_modified, published_at, role, format, normalized_at, fetched_at)
       SELECT source_key, url, final_url, http_status, headers, content_type, charset, body_gzip, body_size, text,
              sha256_bytes, $2, etag, last_modified, published_at, role, format, normalized_at, fetched_at + interval '1 minute'
       FROM raw.document WHERE id = $1
       RETURNING id::int`,
      [archivedId, OLD_HASH],
    );
    const oldCopy = rows[0]!.id;
    expect(await fetchPage(1)).toEqual(['unchanged']);
    const { rows: log } = await db.pool.query<{ document_id: number }>('SELECT document_id::int FROM raw.fetch_log ORDER BY id DESC LIMIT 1');
    expect(log[0]!.document_id).toBe(archivedId);
    const docs = await documents();
    expect(docs.map((d) => [d.id, d.sha256_canonical, d.canonical_version])).toEqual([
      [archivedId, sha256(canonicalText(fixture)), CANONICAL_VERSION],
      [oldCopy, OLD_HASH, 1],
    ]);
    expect(await normalizeJobs()).toBe(0);
  });
});
