/**
 * Measure `store`: the normalizer's store transactions alone, one after another as the service's
 * batcher runs them, over the benchmark's 4,000 articles parsed beforehand (not timed), into a fresh
 * database. In the pipeline these transactions are one serial chain that is busy nine tenths of
 * the run, so their cost is the pipeline's pace; here nothing else runs (no fetcher, no parse, no
 * queue), which makes it far steadier than the pipeline, and the measure to read a change of the
 * store by. CPU a document in this process (building the statements, planning the vintages) and in
 * its PostgreSQL backend, and the vintages written: inserted, and updated (only where a document's
 * reading of a figure changed, so none in this backfill; a vintage's end is derived, not written).
 */
import {
  buildIndicatorCatalog, createStoreStatisticsKeeper, inputFromArchive, packParse, parseDocument, rowsOf, storeDocuments, storeItemOf, type StoreItem,
} from '@nst/normalizer';
import { createPool, type PoolClient, type StatisticsKeeper } from '@nst/shared/db';
import { loadSeeds } from '@nst/shared/seeds';
import { createBenchDatabase, note, readCpuSeconds, report, round, type BenchConfig } from './harness';
import { archivedArticle, BENCH_HOST, benchArticles, generateBenchSite } from './site';

export async function measureStore(config: BenchConfig, options: { n: number; batch: number }): Promise<void> {
  const site = generateBenchSite(options.n);
  const articles = benchArticles(site);
  const db = await createBenchDatabase(config, site.sources);
  const storePool = createPool(db.url, { max: 1, applicationName: 'nst-bench-store' });
  try {
    // The archive rows the figures point to (as the fetcher archives them; not timed).
    const fetchedAt = new Date();
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, headers, content_type, charset, body_gzip, body_size, sha256_bytes,
                                 sha256_canonical, role, format, canonical_version, fetched_at)
       SELECT v.source_key, v.url, v.url, 200, '{}', 'text/html', 'utf-8', '\\x'::bytea, 0, encode(sha256(v.url::bytea), 'hex'), encode(sha256(v.url::bytea), 'hex'),
              'document', 'stats-table', 1, $3
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(source_key, url, i) ORDER BY v.i RETURNING id`,
      [articles.map((article) => article.sourceKey), articles.map((article) => article.url), fetchedAt],
    );
    // Parsed here, in order, as the normalizer parses them (not timed).
    const catalog = buildIndicatorCatalog((await loadSeeds()).indicators);
    const items: StoreItem[] = [];
    for (const [i, article] of articles.entries()) {
      const archived = archivedArticle(article, rows[i]!.id, fetchedAt);
      const parsed = packParse(await parseDocument(inputFromArchive(archived), catalog));
      items.push(storeItemOf({ id: archived.documentId, sourceKey: article.sourceKey, url: article.url, role: 'document', fetchedAt, publishedAt: null,
        recordsDigest: null, archived }, parsed));
    }
    const client = await storePool.connect();
    try {
      note(`store: ${items.length} documents (${site.meanArticleBytes}-byte articles), in transactions of ${options.batch}, one after another`);
      // The normalizer's statistics keeper, on the bench's other connections, as the service runs it.
      const statistics = createStoreStatisticsKeeper(db.pool);
      report({ measure: 'store', host: BENCH_HOST, documents: items.length, batch: options.batch, ...(await timeStore(client, items, options.batch, statistics)) });
      await statistics.settled();
    } finally {
      client.release();
    }
  } finally {
    await storePool.end().catch(() => undefined);
    await db.drop();
  }
}

/** Store the items in transactions of `batch`, one after another on `client`, as the batcher does. */
async function timeStore(client: PoolClient, items: readonly StoreItem[], batch: number, statistics: StatisticsKeeper): Promise<Record<string, unknown>> {
  const { rows: [backend] } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pgBefore = readCpuSeconds(backend!.pid);
  const cpuBefore = readCpuSeconds(`self/task/${process.pid}`);
  const started = performance.now();
  for (let i = 0; i < items.length; i += batch) {
    const slice = items.slice(i, i + batch);
    statistics.noteWritten(rowsOf(slice));
    await client.query('BEGIN');
    await storeDocuments(client, slice);
    await client.query('COMMIT');
  }
  const seconds = (performance.now() - started) / 1000;
  const mainCpu = readCpuSeconds(`self/task/${process.pid}`) - cpuBefore;
  const pgCpu = readCpuSeconds(backend!.pid) - pgBefore;
  // The backend's row counts, flushed to the statistics now rather than after its next idle spell.
  await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows: [counts] } = await client.query<{ ins: string; upd: string }>(
    `SELECT n_tup_ins AS ins, n_tup_upd AS upd FROM pg_stat_user_tables WHERE relid = 'core.observation'::regclass`);
  return {
    seconds: round(seconds, 2),
    documentsPerSecond: round(items.length / seconds),
    // This process's main thread (the store's JavaScript), and its PostgreSQL backend.
    cpuMsPerDocument: { main: round((mainCpu * 1000) / items.length, 3), postgres: round((pgCpu * 1000) / items.length, 3) },
    vintagesInserted: Number(counts!.ins),
    vintageUpdates: Number(counts!.upd),
  };
}
