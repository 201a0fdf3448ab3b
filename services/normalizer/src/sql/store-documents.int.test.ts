/**
 * Storing several documents in one transaction (storeDocuments) against real PostgreSQL and Redis:
 * the database ends exactly as storing them one by one leaves it, whatever the order; a replay
 * changes nothing; each document is told the keys whose vintages it changed; its statements are
 * planned once per connection, on index look-ups even when planned on empty tables; and through
 * normalizeDocument, one document that cannot be stored fails alone while the others of its batch
 * are stored, and a backlog is stored in a second transaction beside one that waits, to the same end.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeBody } from '@nst/shared/charset';
import { periodRange } from '@nst/shared/domain';
import { withTransaction, type Pool } from '@nst/shared/db';
import { closeQueues, createQueues, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { inputFromArchive } from '../archived-input';
import type { IndicatorCatalog } from '../indicators';
import { normalizeDocument, storeItemOf, type NormalizeDeps } from '../jobs/normalize-document';
import { parseDocument } from '../parsers/index';
import { packParse, type ObservationRecord } from '../records';
import { loadTestCatalog, readCase } from '../testing';
import { loadDocument } from './load-document';
import { INDEX_LOOKUPS, storeDocuments, storeRecords, type StoreCounts, type StoreItem, type StoreOutcome } from './store-records';

const logger = createLogger({ service: 'store-documents-test', level: 'silent' });

interface Fixture {
  file: string;
  sourceKey: string;
  format: string;
  url: string;
  contentType?: string;
  /** Applied to the page before archiving it. */
  edit?: (page: string) => string;
}

const REVISED_AT = '2025-09-30 10:00';
const FIXTURES = {
  // A bulletin and the same bulletin republished later with the GDP level revised.
  original: { file: 'bulletin-baoshan-2024.html', sourceKey: 'bs-bulletin', format: 'bulletin', url: 'https://xxgk.shbsq.gov.cn/bulletin-2024.html' },
  revised: {
    file: 'bulletin-baoshan-2024.html', sourceKey: 'bs-bulletin', format: 'bulletin', url: 'https://xxgk.shbsq.gov.cn/bulletin-2024-revised.html',
    edit: (page) => page.replace('1,802.35', '1,811.20').replace('2025-03-28 15:00', REVISED_AT),
  },
  // Unrelated documents with rejects (an unknown indicator row; a GBK page).
  twoLevel: { file: 'stats-table-two-level-headers.html', sourceKey: 'bs-stats-monthly', format: 'stats-table', url: 'https://tjj.shbsq.gov.cn/2025-10.html' },
  gbk: { file: 'stats-table-gbk-jinshan.html', sourceKey: 'js-stats-monthly', format: 'stats-table', url: 'https://tjj.jinshan.gov.cn/2025-06.html', contentType: 'text/html' },
  // News quoting the same Baoshan GDP figures before the bulletin (news vintages), with a news item and target mentions.
  newsZh: { file: 'news-zh-baoshan.html', sourceKey: 'bs-news', format: 'news-article', url: 'https://www.shbsq.gov.cn/news/2025-02-10.html' },
  newsEn: { file: 'news-en-target.html', sourceKey: 'sh-news-en', format: 'news-article', url: 'https://english.shanghai.gov.cn/news/2025-01-16.html' },
  // More unrelated documents for the concurrent jobs.
  jinshanBulletin: { file: 'bulletin-jinshan-q3-report.html', sourceKey: 'js-bulletin', format: 'bulletin', url: 'https://tjj.jinshan.gov.cn/q3.html' },
  districts: { file: 'stats-table-districts.html', sourceKey: 'sh-tjj-monthly', format: 'stats-table', url: 'https://tjj.sh.gov.cn/2025-09.html' },
  firstMonths: { file: 'stats-table-1-2-months.html', sourceKey: 'bs-stats-monthly', format: 'stats-table', url: 'https://tjj.shbsq.gov.cn/2025-02.html' },
} satisfies Record<string, Fixture>;
type Name = keyof typeof FIXTURES;

const GDP_2024 = 'baoshan|gdp|level|period|2024';

/** Archive a fixture as the fetcher would (same columns, text decoded as it decodes), returning the document id. */
async function archive(pool: Pool, name: Name): Promise<number> {
  const fixture: Fixture = FIXTURES[name];
  const raw = readCase(fixture.file);
  const body = fixture.edit ? Buffer.from(fixture.edit(raw.toString('utf8'))) : raw;
  const contentType = fixture.contentType ?? 'text/html; charset=utf-8';
  const digest = createHash('sha256').update(body).digest('hex');
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO raw.document (source_key, url, final_url, http_status, content_type, body_gzip, body_size, text, sha256_bytes,
                               sha256_canonical, role, format, fetched_at)
     VALUES ($1, $2, $2, 200, $3, $4, $5, $6, $7, $7, 'document', $8, '2026-11-01T00:00:00Z') RETURNING id`,
    [fixture.sourceKey, fixture.url, contentType, gzipSync(body), body.length, decodeBody(body, contentType).text.replaceAll('\u0000', ''), digest, fixture.format],
  );
  return rows[0]!.id;
}

/** What normalize-document.ts would store for a document now: parsed from the archive, split by kind, with its digest. */
async function storedItemNow(pool: Pool, catalog: IndicatorCatalog, documentId: number): Promise<StoreItem> {
  const doc = await loadDocument(pool, documentId);
  return storeItemOf(doc, packParse(await parseDocument(inputFromArchive(doc.archived), catalog)));
}

const keyOf = (r: ObservationRecord) => `${r.district}|${r.indicator}|${r.measure}|${r.accumulation}|${r.period}`;

/**
 * Every stored row that storing decides, documents named by URL (ids may differ between databases):
 * publications, vintages with their validity and provenance, rejects, target mentions, news items,
 * and each document's digest, parser version and stated publication time.
 */
async function fingerprint(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ row: string }>(`
    SELECT row FROM (
      SELECT format('publication %s|%s|%s|%s|%s value=%s raw=%s %s %s %s %s published=%s doc=%s url=%s locator=%s %s',
               p.district, p.indicator, p.measure, p.accumulation, p.period, p.value, p.raw_value, p.unit, p.unit_mult, p.status, p.basis,
               p.published_at, d.url, p.url, p.locator, p.parser_version) AS row
      FROM core.publication p JOIN raw.document d ON d.id = p.document_id
      UNION ALL
      SELECT format('observation %s|%s|%s|%s|%s [%s, %s] value=%s raw=%s %s %s %s %s valid_from=%s valid_to=%s doc=%s url=%s locator=%s %s',
               o.district, o.indicator, o.measure, o.accumulation, o.period, o.period_start, o.period_end, o.value, o.raw_value, o.unit, o.unit_mult,
               o.status, o.basis, o.valid_from, o.valid_to, d.url, o.url, o.locator, o.parser_version)
      FROM core.observation_vintage o JOIN raw.document d ON d.id = o.document_id
      UNION ALL
      SELECT format('reject doc=%s %s %s %s locator=%s raw=%s %s', d.url, r.source_key, r.reason, r.detail, r.locator, r.raw, r.parser_version)
      FROM core.reject r JOIN raw.document d ON d.id = r.document_id
      UNION ALL
      SELECT format('mention doc=%s %s %s %s %s %s %s %s locator=%s %s', d.url, m.scope, m.indicator, m.value, m.unit, m.unit_mult, m.target_year,
               m.raw_text, m.locator, m.parser_version)
      FROM core.target_mention m JOIN raw.document d ON d.id = m.document_id
      UNION ALL
      SELECT format('news doc=%s %s %s %s %s %s %s %s %s %s', d.url, n.url, n.title, n.lang, n.published_at, n.districts, n.industries, n.areas,
               n.summary, n.parser_version)
      FROM core.news_item n JOIN raw.document d ON d.id = n.document_id
      UNION ALL
      SELECT format('document %s digest=%s parser=%s published=%s normalized=%s', url, records_digest, parser_version, published_at, normalized_at IS NOT NULL)
      FROM raw.document
    ) t ORDER BY row`);
  return rows.map((r) => r.row);
}

/**
 * Every row of the tables storing writes, with the transaction that wrote it (xmin) and the last that
 * updated, deleted or locked it (xmax): equal means no row was rewritten, nor locked (an upsert that
 * finds its row equal still locks it, which writes the page).
 */
async function rowVersions(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ row: string }>(`
    SELECT row FROM (
      SELECT 'publication ' || id || ' ' || xmin || ' ' || xmax AS row FROM core.quiet_publication
      UNION ALL SELECT 'observation ' || id || ' ' || xmin || ' ' || xmax FROM core.observation
      UNION ALL SELECT 'reject ' || id || ' ' || xmin || ' ' || xmax FROM core.reject
      UNION ALL SELECT 'mention ' || id || ' ' || xmin || ' ' || xmax FROM core.target_mention
      -- News items are upserted one by one with ON CONFLICT DO UPDATE … WHERE, which locks the row it
      -- finds even when equal: their xmax changes on every store, so only xmin is compared.
      UNION ALL SELECT 'news ' || id || ' ' || xmin FROM core.news_item
      UNION ALL SELECT 'document ' || id || ' ' || xmin || ' ' || xmax FROM raw.document
    ) t ORDER BY row`);
  return rows.map((r) => r.row);
}

/** The vintages of every key, as a map key → its vintages (validity, value, document). */
async function vintagesByKey(pool: Pool): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ key: string; vintages: string }>(`
    SELECT concat_ws('|', district, indicator, measure, accumulation, period) AS key,
           string_agg(format('%s..%s %s %s %s %s', valid_from, valid_to, value, raw_value, document_id, locator), '; ' ORDER BY valid_from) AS vintages
    FROM core.observation_vintage GROUP BY 1`);
  return new Map(rows.map((r) => [r.key, r.vintages]));
}

/** Forget every store: the archive stays, as if nothing had been normalized. */
async function reset(pool: Pool): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('DELETE FROM core.observation');
    await client.query('DELETE FROM core.quiet_publication');
    await client.query('DELETE FROM core.reject');
    await client.query('DELETE FROM core.target_mention');
    await client.query('DELETE FROM core.news_item');
    await client.query('UPDATE raw.document SET records_digest = NULL, parser_version = NULL, normalized_at = NULL, published_at = NULL');
  });
  expect((await fingerprint(pool)).filter((row) => !row.startsWith('document '))).toEqual([]);
}

const ZERO: StoreCounts = { inserted: 0, revised: 0, unchanged: 0, removed: 0, news: 0, targetMentions: 0, rejects: 0 };
function sum(outcomes: readonly StoreOutcome[]): StoreCounts {
  const total = { ...ZERO };
  for (const { counts } of outcomes) for (const field of Object.keys(total) as Array<keyof StoreCounts>) total[field] += counts[field];
  return total;
}
/** The counts that say what changed (`unchanged` says what was found already there, which depends on what was stored before). */
const changes = ({ unchanged: _unchanged, ...counts }: StoreCounts) => counts;

describe('storeDocuments', () => {
  let one: TestDatabase;
  let batch: TestDatabase;
  let catalog: IndicatorCatalog;
  const ids: Record<'one' | 'batch', Partial<Record<Name, number>>> = { one: {}, batch: {} };
  const stored: Name[] = ['original', 'revised', 'twoLevel', 'gbk', 'newsZh', 'newsEn'];

  beforeAll(async () => {
    [one, batch, catalog] = await Promise.all([createTestDatabase(), createTestDatabase(), loadTestCatalog()]);
    // The same archive, in the same order, in both databases.
    for (const name of stored) {
      ids.one[name] = await archive(one.pool, name);
      ids.batch[name] = await archive(batch.pool, name);
    }
  });
  afterAll(async () => {
    await Promise.all([one?.drop(), batch?.drop()]);
  });

  const idsOf = (db: 'one' | 'batch', names: readonly Name[]) => names.map((name) => ids[db][name]!);

  /** Store each document in a transaction of its own, reading it just before, as one job after another would. */
  async function storeOneByOne(names: readonly Name[]): Promise<StoreOutcome[]> {
    const outcomes: StoreOutcome[] = [];
    for (const documentId of idsOf('one', names)) {
      const item = await storedItemNow(one.pool, catalog, documentId);
      outcomes.push(await withTransaction(one.pool, (client) => storeRecords(client, item.records, item.ctx)));
    }
    return outcomes;
  }

  /** Read every document, then store them all in one storeDocuments call. */
  async function readBatch(names: readonly Name[]): Promise<StoreItem[]> {
    return Promise.all(idsOf('batch', names).map((documentId) => storedItemNow(batch.pool, catalog, documentId)));
  }
  const storeBatch = (items: readonly StoreItem[]) => withTransaction(batch.pool, (client) => storeDocuments(client, items));

  it('a: one call leaves the database exactly as storing one by one does, in both orders of the revision pair', async () => {
    const orders: Array<[string, Name[]]> = [
      ['the original before its revision', ['original', 'revised', 'twoLevel', 'gbk', 'newsZh', 'newsEn']],
      ['the revision before the original', ['revised', 'original', 'newsEn', 'gbk', 'newsZh', 'twoLevel']],
    ];
    const results: string[][] = [];
    for (const [name, order] of orders) {
      await reset(one.pool);
      await reset(batch.pool);
      await storeOneByOne(order);
      const outcomes = await storeBatch(await readBatch(order));
      expect(outcomes, name).toHaveLength(order.length);
      const singly = await fingerprint(one.pool);
      expect(await fingerprint(batch.pool), name).toEqual(singly);
      results.push(singly);

      // What both hold: the revised figure as two vintages, the first closed when the revision was published.
      const { rows: gdp } = await batch.pool.query(
        `SELECT o.value::text, d.url, o.valid_from, o.valid_to FROM core.observation_vintage o JOIN raw.document d ON d.id = o.document_id
         WHERE concat_ws('|', o.district, o.indicator, o.measure, o.accumulation, o.period) = $1 AND o.status <> 'news' ORDER BY o.valid_from`, [GDP_2024]);
      expect(gdp.map((r) => [r.value, r.url]), name).toEqual([['1802.35', FIXTURES.original.url], ['1811.20', FIXTURES.revised.url]]);
      expect(gdp[0].valid_to, name).toEqual(gdp[1].valid_from);
      expect(gdp[1].valid_from.toISOString(), name).toBe('2025-09-30T02:00:00.000Z');
      expect(gdp[1].valid_to, name).toBeNull();
      for (const kind of ['reject', 'mention', 'news', 'publication']) {
        expect(singly.some((row) => row.startsWith(`${kind} `)), `${name}: some ${kind}`).toBe(true);
      }
      expect(singly.filter((row) => row.startsWith('document ') && row.includes('digest=') && !row.includes('digest= ')), name).toHaveLength(stored.length);
    }
    // And the order made no difference.
    expect(results[1]).toEqual(results[0]);
  });

  it('b: storing the same batch again changes nothing', async () => {
    // The database holds the batch of the last order of test a.
    const before = await fingerprint(batch.pool);
    const versions = await rowVersions(batch.pool);
    expect(before.some((row) => row.startsWith('observation '))).toBe(true);
    const again = await storeBatch(await readBatch(['revised', 'original', 'newsEn', 'gbk', 'newsZh', 'twoLevel']));
    for (const outcome of again) {
      expect(outcome.counts).toMatchObject({ inserted: 0, revised: 0, removed: 0 });
      expect([...outcome.changedKeys]).toEqual([]);
    }
    expect(await fingerprint(batch.pool)).toEqual(before);
    // Not a row rewritten, not even with the same values, nor locked.
    expect(await rowVersions(batch.pool)).toEqual(versions);
  });

  it('i: times stored finer than a millisecond (written by SQL, not by a store) leave the vintages as they are', async () => {
    await reset(batch.pool);
    await storeBatch(await readBatch(stored));
    // As a bulk load or an older writer might leave them: every time 0.4 ms later.
    await batch.pool.query("UPDATE core.quiet_publication SET published_at = published_at + interval '0.4 ms'");
    await batch.pool.query("UPDATE core.observation SET valid_from = valid_from + interval '0.4 ms'");
    const before = await fingerprint(batch.pool);
    const versions = await rowVersions(batch.pool);
    const again = await storeBatch(await readBatch(stored));
    expect(sum(again)).toMatchObject({ inserted: 0, revised: 0, removed: 0 });
    expect(await fingerprint(batch.pool)).toEqual(before);
    expect((await rowVersions(batch.pool)).filter((row) => row.startsWith('observation '))).toEqual(versions.filter((row) => row.startsWith('observation ')));

    // The news quoted the bulletin's growth rate first, so the bulletin's publication of it opens no
    // vintage. Without the news it does: that quiet publication, its time finer than a millisecond,
    // becomes a vintage.
    const { rows: [quiet] } = await batch.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM core.quiet_publication WHERE document_id = $1', [ids.batch.original]);
    expect(quiet!.n).toBeGreaterThan(0);
    const news = await readBatch(['newsZh', 'newsEn']);
    await storeBatch(news.map((item) => ({ ...item, records: { ...item.records, observations: [] } })));
    const { rows: [moved] } = await batch.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM core.quiet_publication WHERE document_id = $1', [ids.batch.original]);
    expect(moved!.n).toBeLessThan(quiet!.n);
    // The vintages left alone keep their times; those opened now start at the millisecond.
    const { rows: opened } = await batch.pool.query(
      "SELECT valid_from FROM core.observation WHERE document_id = $1 AND valid_from = date_trunc('milliseconds', valid_from)", [ids.batch.original]);
    expect(opened).toHaveLength(quiet!.n - moved!.n);
  });

  it('j: the same figures read by another parser version give their vintages the new provenance, and open none', async () => {
    await reset(batch.pool);
    await storeBatch(await readBatch(stored));
    const [original] = idsOf('batch', ['original']);
    const before = await vintagesByKey(batch.pool);
    const item = await storedItemNow(batch.pool, catalog, original!);
    // As after a parser fix that changed where a figure is said to be, and nothing else.
    const relabelled: StoreItem = {
      records: { ...item.records, observations: item.records.observations.map((o) => ({ ...o, locator: `${o.locator} (relabelled)` })) },
      ctx: { ...item.ctx, parserVersion: 'test-relabelled' },
    };
    const [outcome] = await storeBatch([relabelled]);
    expect(outcome!.counts).toMatchObject({ inserted: 0, revised: 0, removed: 0 });
    const { rows } = await batch.pool.query<{ locator: string; parser_version: string }>(
      'SELECT locator, parser_version FROM core.observation WHERE document_id = $1', [original]);
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(row).toMatchObject({ locator: expect.stringMatching(/ \(relabelled\)$/), parser_version: 'test-relabelled' });
    // The same vintages, values and validity as before.
    const after = await vintagesByKey(batch.pool);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, vintages] of before) expect(after.get(key)!.replaceAll(' (relabelled)', '')).toBe(vintages);
  });

  it('m: a document stating a time outside years 1–9999 stores it as PostgreSQL reads it (ISO text cannot carry it)', async () => {
    await reset(batch.pool);
    const [original] = idsOf('batch', ['original']);
    const item = await storedItemNow(batch.pool, catalog, original!);
    // A CMS placeholder such as "0000-01-01 08:00:00+08:00": year 0, which toISOString writes as 0000-…
    for (const stated of [new Date('0000-01-01T00:00:00Z'), new Date(Date.UTC(10_000, 0, 1, 11))]) {
      await storeBatch([{ records: item.records, ctx: { ...item.ctx, validFrom: stated, publishedAt: stated } }]);
      const { rows } = await batch.pool.query<{ ms: number; published: number; n: number }>(
        `SELECT min(floor(extract(epoch FROM o.valid_from) * 1000))::float8 AS ms, count(*)::int AS n,
                (SELECT floor(extract(epoch FROM published_at) * 1000)::float8 FROM raw.document WHERE id = $1) AS published
         FROM core.observation o WHERE o.document_id = $1`, [original]);
      expect(rows[0]!.n).toBeGreaterThan(0);
      expect(rows[0]).toMatchObject({ ms: stated.getTime(), published: stated.getTime() });
    }
  });

  it('k: a publication that starts or stops opening a vintage moves between the tables with all it says, as if stored in that state from the start', async () => {
    await reset(one.pool);
    await reset(batch.pool);
    const withoutFigures = (item: StoreItem): StoreItem => ({ ...item, records: { ...item.records, observations: [] } });
    const newsNames: Name[] = ['newsZh', 'newsEn'];
    // Here: everything, then the news read without figures. The bulletins' growth rate, quiet while
    // the news had quoted it first, now opens a vintage (moves to core.observation).
    await storeBatch(await readBatch(stored));
    const quietBefore = (await batch.pool.query('SELECT id FROM core.quiet_publication')).rowCount!;
    await storeBatch((await readBatch(newsNames)).map(withoutFigures));
    expect((await batch.pool.query('SELECT id FROM core.quiet_publication')).rowCount).toBeLessThan(quietBefore);
    // There: the news without figures from the start, one document at a time.
    for (const documentId of idsOf('one', stored)) {
      const item = await storedItemNow(one.pool, catalog, documentId);
      const reading = newsNames.some((name) => ids.one[name] === documentId) ? withoutFigures(item) : item;
      await withTransaction(one.pool, (client) => storeRecords(client, reading.records, reading.ctx));
    }
    expect(await fingerprint(batch.pool)).toEqual(await fingerprint(one.pool));
    // The news read with its figures again: the growth rate goes back to core.quiet_publication.
    await storeBatch(await readBatch(newsNames));
    for (const documentId of idsOf('one', newsNames)) {
      const item = await storedItemNow(one.pool, catalog, documentId);
      await withTransaction(one.pool, (client) => storeRecords(client, item.records, item.ctx));
    }
    expect((await batch.pool.query('SELECT id FROM core.quiet_publication')).rowCount).toBe(quietBefore);
    expect(await fingerprint(batch.pool)).toEqual(await fingerprint(one.pool));
  });

  it('l: a store that waits for keys another store holds reads its own rows once that store, which moved them, has committed', async () => {
    await reset(one.pool);
    await reset(batch.pool);
    const newsNames: Name[] = ['newsZh', 'newsEn'];
    const withoutFigures = (item: StoreItem): StoreItem => ({ ...item, records: { ...item.records, observations: [] } });
    // As after a parser fix that moved where every figure is said to be: each publication is rewritten.
    const relabelled = (item: StoreItem): StoreItem => ({
      records: { ...item.records, observations: item.records.observations.map((o) => ({ ...o, locator: `${o.locator} (relabelled)` })) },
      ctx: { ...item.ctx, parserVersion: 'test-relabelled' },
    });
    // One after the other: everything; the news read without figures, which makes the bulletin's
    // quiet growth rate open a vintage; then the bulletin relabelled.
    for (const documentId of idsOf('one', stored)) {
      const item = await storedItemNow(one.pool, catalog, documentId);
      await withTransaction(one.pool, (client) => storeRecords(client, item.records, item.ctx));
    }
    for (const documentId of idsOf('one', newsNames)) {
      const item = withoutFigures(await storedItemNow(one.pool, catalog, documentId));
      await withTransaction(one.pool, (client) => storeRecords(client, item.records, item.ctx));
    }
    const [originalOne] = idsOf('one', ['original']);
    const lastOne = relabelled(await storedItemNow(one.pool, catalog, originalOne!));
    await withTransaction(one.pool, (client) => storeRecords(client, lastOne.records, lastOne.ctx));

    // At the same time: the news store holds its keys, uncommitted, while the bulletin's store has
    // read its keys and waits for theirs; then the news store commits, and the bulletin's goes on.
    await storeBatch(await readBatch(stored));
    const news = (await readBatch(newsNames)).map(withoutFigures);
    const [original] = await readBatch(['original']);
    const holder = await batch.pool.connect();
    try {
      await holder.query('BEGIN');
      await storeDocuments(holder, news);
      const waiting = storeBatch([relabelled(original!)]);
      await vi.waitFor(async () => {
        const { rows } = await batch.pool.query(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
        expect(rows.length).toBeGreaterThan(0);
      }, { timeout: 10_000, interval: 20 });
      await holder.query('COMMIT');
      await waiting;
    } finally {
      holder.release();
    }
    expect(await fingerprint(batch.pool)).toEqual(await fingerprint(one.pool));
  });

  it('c: each outcome names exactly the keys of its document whose vintages changed, and the counts add up as stored one by one', async () => {
    await reset(one.pool);
    await reset(batch.pool);
    // The original is there already; then the revision, news quoting the same figures earlier, an
    // unrelated table, and the original again arrive together.
    await storeOneByOne(['original']);
    await storeBatch(await readBatch(['original']));
    const order: Name[] = ['revised', 'newsZh', 'twoLevel', 'original'];
    const singly = await storeOneByOne(order);

    const before = await vintagesByKey(batch.pool);
    const items = await readBatch(order);
    const outcomes = await storeBatch(items);
    const after = await vintagesByKey(batch.pool);
    const changed = new Set([...new Set([...before.keys(), ...after.keys()])].filter((key) => before.get(key) !== after.get(key)));

    expect(await fingerprint(batch.pool)).toEqual(await fingerprint(one.pool));
    items.forEach((item, i) => {
      const keys = new Set(item.records.observations.map(keyOf));
      expect([...outcomes[i]!.changedKeys].sort(), order[i]).toEqual([...keys].filter((key) => changed.has(key)).sort());
    });
    // The cases that make this worth checking: the original's figures mostly stand, the revised
    // one and those the news quoted earlier changed, and every figure of the new table is new.
    const original = outcomes[order.indexOf('original')]!.changedKeys;
    expect(original.has(GDP_2024)).toBe(true);
    expect(original.size).toBeLessThan(items[order.indexOf('original')]!.records.observations.length);
    expect(outcomes[order.indexOf('twoLevel')]!.changedKeys.size).toBe(new Set(items[order.indexOf('twoLevel')]!.records.observations.map(keyOf)).size);

    expect(changes(sum(outcomes))).toEqual(changes(sum(singly)));
  });

  it('c: from nothing, a figure and its revision in one batch count as stored one after the other in publication order', async () => {
    await reset(one.pool);
    await reset(batch.pool);
    const order: Name[] = ['original', 'revised', 'twoLevel'];
    const singly = await storeOneByOne(order);
    const outcomes = await storeBatch(await readBatch(order));
    expect(await fingerprint(batch.pool)).toEqual(await fingerprint(one.pool));
    // One by one: the original inserts its figures, the revision revises one.
    expect(sum(singly)).toMatchObject({ revised: 1, removed: 0 });
    expect(changes(sum(outcomes))).toEqual(changes(sum(singly)));
  });

  it('n: each vintage spans its period as its accumulation reads it, a month and its year to date written in one batch', async () => {
    await reset(batch.pool);
    await storeBatch(await readBatch(['twoLevel', 'gbk']));
    const { rows } = await batch.pool.query<{ period: string; accumulation: 'period' | 'ytd'; start: string; end: string }>(
      'SELECT DISTINCT period, accumulation, period_start::text AS start, period_end::text AS end FROM core.observation');
    // Meaningful only with one period stored under both accumulations (their ranges differ).
    const both = rows.filter((row) => rows.some((other) => other.period === row.period && other.accumulation !== row.accumulation));
    expect(both.some((row) => row.accumulation === 'ytd' && /-(0[2-9]|1[0-2])$/.test(row.period))).toBe(true);
    for (const row of rows) expect(row).toEqual({ period: row.period, accumulation: row.accumulation, ...periodRange(row.period, row.accumulation) });
  });

  it('f: a mention that changes at the same locator replaces the stored one (the stale row goes before the insert)', async () => {
    await reset(batch.pool);
    const [item] = await readBatch(['newsEn']);
    expect(item!.records.targetMentions.length).toBeGreaterThan(0);
    await storeBatch([item!]);
    const mention = item!.records.targetMentions[0]!;
    const changed: StoreItem = {
      ...item!,
      records: { ...item!.records, targetMentions: [{ ...mention, rawText: `${mention.rawText} (revised)` }, ...item!.records.targetMentions.slice(1)] },
    };
    await storeBatch([changed]);
    const { rows } = await batch.pool.query('SELECT raw_text FROM core.target_mention WHERE document_id = $1 AND locator = $2', [item!.ctx.documentId, mention.locator]);
    expect(rows).toEqual([{ raw_text: `${mention.rawText} (revised)` }]);
  });

  it('g: an outcome names the keys the document stated before and no longer states among those it touched', async () => {
    await reset(batch.pool);
    const [item] = await readBatch(['original']);
    await storeBatch([item!]);
    const [dropped, ...kept] = item!.records.observations;
    const key = [dropped!.district, dropped!.indicator, dropped!.measure, dropped!.accumulation, dropped!.period].join('|');
    const [outcome] = await storeBatch([{ ...item!, records: { ...item!.records, observations: kept } }]);
    expect(outcome!.touchedKeys.has(key)).toBe(true);
    expect(outcome!.changedKeys.has(key)).toBe(true);
    expect(outcome!.counts.removed).toBeGreaterThan(0);
  });

  it('d: refuses a batch holding the same document twice, and stores nothing of it', async () => {
    await reset(batch.pool);
    const before = await fingerprint(batch.pool);
    const [item, other] = await readBatch(['original', 'twoLevel']);
    await expect(storeBatch([item!, other!, item!])).rejects.toThrow(/a document appears twice in one batch/);
    expect(await fingerprint(batch.pool)).toEqual(before);
  });
});

describe('storeDocuments, planned while the tables are empty', () => {
  let db: TestDatabase;
  let catalog: IndicatorCatalog;
  beforeAll(async () => {
    [db, catalog] = await Promise.all([createTestDatabase(), loadTestCatalog()]);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('p: its statements are planned once per connection, and look their rows up in an index even when planned on empty tables', async () => {
    const ids = [await archive(db.pool, 'original'), await archive(db.pool, 'twoLevel'), await archive(db.pool, 'newsZh')];
    const items = await Promise.all(ids.map((documentId) => storedItemNow(db.pool, catalog, documentId)));
    const client = await db.pool.connect();
    try {
      // The first store on this connection: every table it reads is empty.
      await client.query('BEGIN');
      await storeDocuments(client, items);
      await client.query('COMMIT');
      const { rows: prepared } = await client.query<{ name: string; types: string[]; generic: number; custom: number }>(
        `SELECT name, parameter_types::text[] AS types, generic_plans::int AS generic, custom_plans::int AS custom
         FROM pg_prepared_statements WHERE name LIKE 'nst-%' ORDER BY name`);
      expect(prepared.map((p) => p.name)).toEqual(expect.arrayContaining(['nst-state-read', 'nst-keys-of-documents', 'nst-insert-vintages', 'nst-mark-documents']));
      // Run on a generic plan from the first execution: never planned again for a batch.
      expect(prepared.filter((p) => p.custom > 0 || p.generic === 0)).toEqual([]);
      // The plans they run on (made on empty tables; the store's settings, should one be made again).
      await client.query('BEGIN');
      await client.query(INDEX_LOOKUPS);
      for (const { name, types } of prepared) {
        const { rows: plan } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) EXECUTE "${name}"(${types.map((type) => `NULL::${type}`).join(', ')})`);
        const text = plan.map((row) => row['QUERY PLAN']).join('\n');
        expect(text, name).not.toMatch(/Seq Scan/);
      }
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
  });
});

describe('normalizeDocument, concurrent jobs on one deps', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let connection: Redis;
  let queues: Queues;
  let deps: NormalizeDeps;
  const names: Name[] = ['original', 'jinshanBulletin', 'twoLevel', 'districts', 'gbk', 'firstMonths'];
  const bad: Name = 'districts';
  const ids: Partial<Record<Name, number>> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    queues = createQueues({ connection, prefix: redis.prefix });
    deps = { pool: db.pool, queues, logger, catalog: await loadTestCatalog() };
    for (const name of names) ids[name] = await archive(db.pool, name);
  });
  afterAll(async () => {
    if (queues) await closeQueues(queues);
    connection?.disconnect();
    await redis?.cleanup();
    await db?.drop();
  });

  const observationCount = async (documentId: number) =>
    (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM core.observation WHERE document_id = $1', [documentId])).rows[0]!.n;

  it('e: a document whose store fails rejects with that error alone; the others of its batch are stored; without the fault it stores', async () => {
    const badId = ids[bad]!;
    // The fault: PostgreSQL refuses any vintage of that one document. A sequence counts the
    // refusals (nextval survives the rollback); a log records the transaction each vintage was written in.
    await db.pool.query(`
      CREATE SEQUENCE public.test_refusals;
      CREATE TABLE public.test_store_log (txid bigint NOT NULL, document_id bigint NOT NULL);
      CREATE FUNCTION public.test_refuse_document() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.document_id = ${Number(badId)} THEN
          PERFORM nextval('public.test_refusals');
          RAISE EXCEPTION 'test fault: document % may not be stored', NEW.document_id;
        END IF;
        INSERT INTO public.test_store_log VALUES (txid_current(), NEW.document_id);
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_document BEFORE INSERT OR UPDATE ON core.observation FOR EACH ROW EXECUTE FUNCTION public.test_refuse_document();`);

    const settled = await Promise.allSettled(names.map((name) => normalizeDocument(ids[name]!, deps, { firstRun: true })));

    const failure = settled[names.indexOf(bad)]!;
    expect(failure.status).toBe('rejected');
    expect((failure as PromiseRejectedResult).reason).toMatchObject({ code: 'P0001', message: `test fault: document ${badId} may not be stored` });
    expect(await observationCount(badId)).toBe(0);
    for (const [i, name] of names.entries()) {
      if (name === bad) continue;
      const outcome = settled[i]!;
      expect(outcome.status, name).toBe('fulfilled');
      expect((outcome as PromiseFulfilledResult<Awaited<ReturnType<typeof normalizeDocument>>>).value.counts?.inserted, name).toBeGreaterThan(0);
      expect(await observationCount(ids[name]!), name).toBeGreaterThan(0);
    }
    // The bad document was refused twice: in the batch it shared with the others, then alone; the
    // others were then stored each in a transaction of its own.
    const { rows: [refusals] } = await db.pool.query<{ last_value: number }>('SELECT last_value FROM public.test_refusals');
    expect(Number(refusals!.last_value)).toBe(2);
    const { rows: log } = await db.pool.query<{ txid: number; documents: number }>(
      'SELECT txid, count(DISTINCT document_id)::int AS documents FROM public.test_store_log GROUP BY txid');
    expect(log).toHaveLength(names.length - 1);
    expect(log.every((row) => row.documents === 1)).toBe(true);

    // The fault gone, the same document stores.
    await db.pool.query('DROP TRIGGER test_refuse_document ON core.observation');
    const retried = await normalizeDocument(badId, deps, { firstRun: true });
    expect(retried.counts?.inserted).toBeGreaterThan(0);
    expect(await observationCount(badId)).toBeGreaterThan(0);
    const { rows: [doc] } = await db.pool.query('SELECT records_digest FROM raw.document WHERE id = $1', [badId]);
    expect(doc.records_digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('h: a retry hands over a key an earlier run removed and died before handing over, which no reading names any more', async () => {
    const id = await archive(db.pool, 'revised');
    await normalizeDocument(id, deps, { firstRun: true });
    expect((await db.pool.query("SELECT 1 FROM core.publication WHERE document_id = $1 AND indicator = 'gdp'", [id])).rowCount).toBeGreaterThan(0);
    // The earlier run: the page now reads without its GDP (as a new parser might read it), stored and
    // committed, then the worker died before handing anything over.
    const page = FIXTURES.revised.edit(readCase(FIXTURES.revised.file).toString('utf8')).replaceAll('地区生产总值', '地区总量');
    await db.pool.query('UPDATE raw.document SET body_gzip = $2, text = $3 WHERE id = $1', [id, gzipSync(Buffer.from(page)), page]);
    const item = await storedItemNow(db.pool, deps.catalog, id);
    expect(item.records.observations.some((o) => o.indicator === 'gdp')).toBe(false);
    await withTransaction(db.pool, (client) => storeDocuments(client, [item]));
    expect((await db.pool.query("SELECT 1 FROM core.publication WHERE document_id = $1 AND indicator = 'gdp'", [id])).rowCount).toBe(0);
    await queues.aggregate.obliterate({ force: true });

    // The retry reads what was stored (nothing to store), and still wakes the removed GDP's aggregate.
    const retried = await normalizeDocument(id, deps, { firstRun: false });
    expect(retried.skipped).toBe('unchanged');
    const pending = await queues.aggregate.getJobs(['delayed', 'waiting', 'prioritized']);
    expect(pending.map((job) => job.data)).toContainEqual({ scope: 'baoshan', indicator: 'gdp' });
  });
});

describe('normalizeDocument, two store lanes on one deps', () => {
  let serial: TestDatabase;
  let lanes: TestDatabase;
  let redis: TestRedis;
  let connection: Redis;
  let queues: Queues;
  // Every fixture: the bulletin and its revision, and the news quoting its figures, share keys.
  const names = Object.keys(FIXTURES) as Name[];
  const held: Name = 'original';

  beforeAll(async () => {
    [serial, lanes, redis] = await Promise.all([createTestDatabase(), createTestDatabase(), createTestRedis()]);
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    queues = createQueues({ connection, prefix: redis.prefix });
  });
  afterAll(async () => {
    if (queues) await closeQueues(queues);
    connection?.disconnect();
    await redis?.cleanup();
    await Promise.all([serial?.drop(), lanes?.drop()]);
  });

  it('o: while one store transaction waits, a backlog is stored beside it, and the database ends as one job after another leaves it', async () => {
    const catalog = await loadTestCatalog();
    const depsOf = (pool: Pool, storeLanes: number): NormalizeDeps => ({ pool, queues, logger, catalog, storeLanes, aggregateFlushIdleMs: null });
    const ids: Partial<Record<Name, number>> = {};
    for (const name of names) {
      await archive(serial.pool, name);
      ids[name] = await archive(lanes.pool, name);
    }
    const one = depsOf(serial.pool, 1);
    for (const name of names) await normalizeDocument((await serial.pool.query<{ id: number }>('SELECT id FROM raw.document WHERE url = $1', [FIXTURES[name].url])).rows[0]!.id, one, { firstRun: true });

    // The first lane's transaction waits for its document's lock, held here, as a store of another replica would hold it.
    const deps = depsOf(lanes.pool, 2);
    const holder = await lanes.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query("SELECT pg_advisory_xact_lock(hashtextextended('document|' || $1, 7270))", [ids[held]]);
      let heldDone = false;
      const first = normalizeDocument(ids[held]!, deps, { firstRun: true }).finally(() => {
        heldDone = true;
      });
      await vi.waitFor(async () => {
        const { rows } = await lanes.pool.query(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");
        expect(rows.length).toBeGreaterThan(0);
      }, { timeout: 10_000, interval: 20 });

      // Eight documents wait for a store: the second lane takes them while the first still waits.
      const others = names.filter((name) => name !== held);
      expect(others.length).toBeGreaterThanOrEqual(8);
      const stored = await Promise.race([
        Promise.all(others.map((name) => normalizeDocument(ids[name]!, deps, { firstRun: true }))),
        new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 10_000).unref()),
      ]);
      expect(stored).not.toBe('blocked');
      expect(heldDone).toBe(false);
      await holder.query('COMMIT');
      expect((await first).skipped).toBeUndefined();
    } finally {
      holder.release();
    }
    expect(await fingerprint(lanes.pool)).toEqual(await fingerprint(serial.pool));
  });
});
