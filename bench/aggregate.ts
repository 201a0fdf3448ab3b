/**
 * Measure 4, `aggregate`: how long one new observation takes to reach `agg.latest_progress`, with
 * 10 thousand and with 1 million observations stored.
 *
 * The stored observations are synthetic, bulk-loaded with `INSERT … SELECT generate_series` (and
 * their synthetic documents and publications, so every row has its provenance):
 * - the recent series every dashboard reads: the 13 catalog indicators × 3 districts, February–
 *   December of 2021–2025 (ytd level, ytd growth, monthly level) and the annual figures — the same
 *   6,825 rows in both cases, so both measure the same change against the same targets;
 * - history filling the rest: the same series for earlier years (2020 back to 1900), each
 *   published and then revised once a year (up to 6 vintages per figure).
 * Each size has its database. The change is a real page (a Baoshan table with its 2025 GDP)
 * archived and normalized, then `aggregate()` (the aggregate job's handler) for what it touched,
 * until `agg.latest_progress` shows the new figure: the median of `repeats` changes, each a newer
 * publication with another value, alternating between the sizes.
 */
import { gzipSync } from 'node:zlib';
import { aggregate } from '@nst/aggregator';
import { loadCatalog, normalizeDocument } from '@nst/normalizer/service';
import { createLogger } from '@nst/shared/logger';
import type { Source } from '@nst/shared/seeds';
import { createBenchDatabase, createBenchRedis, note, report, round, type BenchConfig, type BenchDatabase } from './harness';
import { BENCH_HOST } from './site';

const SYNTHETIC_SOURCE: Source = {
  key: 'bench-synthetic',
  name: 'Benchmark: synthetic observations',
  publisher: 'nst bench (synthetic)',
  format: 'stats-table',
  url: `https://${BENCH_HOST}/synthetic/index.html`,
  schedule: '0 7 * * *',
  lang: 'zh',
  enabled: false,
  politeness: { minDelayMs: 0, concurrency: 1, timeoutMs: 20_000, maxBytes: 10_485_760 },
  discovery: { maxPages: 1, maxDepth: 0 },
};

const RECENT_FROM = 2021;
const RECENT_TO = 2025;
const MAX_VINTAGES = 7;

/**
 * The series rows of one (district, indicator, year): slot 0–10 ytd level of February–December,
 * 11–21 their ytd growth, 22–32 the monthly levels, 33 the annual level, 34 the annual growth.
 */
const SERIES_SQL = `
  SELECT d.district, i.code AS indicator, y AS year, s AS slot,
         CASE WHEN s < 33 THEN 2 + s % 11 ELSE 12 END AS month,
         CASE WHEN s BETWEEN 11 AND 21 OR s = 34 THEN 'yoy_pct' ELSE 'level' END AS measure,
         CASE WHEN s < 22 THEN 'ytd' ELSE 'period' END AS accumulation,
         CASE WHEN s >= 33 THEN y::text ELSE y::text || '-' || lpad((2 + s % 11)::text, 2, '0') END AS period
  FROM (VALUES ('baoshan'), ('jinshan'), ('shanghai')) AS d(district)
  CROSS JOIN core.indicator i
  CROSS JOIN generate_series($1::int, $2::int, -1) AS y
  CROSS JOIN generate_series(0, 34) AS s`;

/** Bulk-load `rows` observations of years [toYear … fromYear] (newest first), `vintages` each. */
async function loadSeries(db: BenchDatabase, options: { toYear: number; fromYear: number; vintages: number; rows: number }): Promise<number> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    // One synthetic document per (district, year, vintage): what a yearly table release would be.
    await client.query(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, content_type, charset, body_gzip, body_size, text,
                                sha256_bytes, sha256_canonical, published_at, fetched_at, role, format, normalized_at, parser_version)
       SELECT 'bench-synthetic', u, u, 200, 'text/html; charset=utf-8', 'utf-8', '\\x1f8b0800000000000003030000000000000000'::bytea, 0, NULL,
              md5(u) || md5(u), md5(u || 'c') || md5(u || 'c'), make_timestamptz(y + 1, 1, 20, 7, 0, 0, 'Asia/Shanghai') + (v || ' years')::interval,
              now(), 'document', 'stats-table', now(), 'bench'
       FROM (VALUES ('baoshan'), ('jinshan'), ('shanghai')) AS d(district)
       CROSS JOIN generate_series($1::int, $2::int, -1) AS y
       CROSS JOIN generate_series(0, $3::int - 1) AS v
       CROSS JOIN LATERAL (SELECT 'https://${BENCH_HOST}/synthetic/' || d.district || '/' || y || '/v' || v || '.html' AS u) url
       ON CONFLICT DO NOTHING`,
      [options.toYear, options.fromYear, options.vintages],
    );
    // Vintage v of a figure is published v years after the first publication (the month after
    // its period), each with another value; each ends where the next starts, the last is open.
    const inserted = await client.query(
      `WITH series AS (${SERIES_SQL} ORDER BY y DESC, d.district, i.code, s LIMIT $4),
       vintage AS (
         SELECT s.*, v,
                make_timestamptz(year + (month / 12), month % 12 + 1, 20, 7, 0, 0, 'Asia/Shanghai') + (v || ' years')::interval AS valid_from,
                CASE WHEN measure = 'yoy_pct' THEN round((abs(hashtext(indicator || period || district || v)) % 200) / 10.0 - 5, 1)
                     ELSE round(100 + (abs(hashtext(indicator || period || district || v)) % 100000) / 100.0, 2) END AS value
         FROM series s CROSS JOIN generate_series(0, $3::int - 1) AS v
       )
       INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, basis, value, unit, unit_mult,
                                     raw_value, status, valid_from, document_id, url, locator, parser_version)
       SELECT x.district, x.indicator, x.measure, x.accumulation, x.period,
              make_date(x.year, CASE WHEN x.accumulation = 'ytd' OR x.slot >= 33 THEN 1 ELSE x.month END, 1),
              (make_date(x.year, x.month, 1) + interval '1 month - 1 day')::date,
              CASE WHEN x.measure = 'yoy_pct' THEN 'comparable' ELSE 'unknown' END, x.value,
              CASE WHEN x.measure = 'yoy_pct' THEN 'pct' ELSE 'CNY' END, CASE WHEN x.measure = 'yoy_pct' THEN 0 ELSE 8 END,
              x.value::text, 'final', x.valid_from, doc.id, doc.url, 'synthetic row ' || x.slot, 'bench'
       FROM vintage x
       JOIN raw.document doc ON doc.source_key = 'bench-synthetic'
        AND doc.url = 'https://${BENCH_HOST}/synthetic/' || x.district || '/' || x.year || '/v' || x.v || '.html'
       LIMIT $5`,
      [options.toYear, options.fromYear, options.vintages, Math.ceil(options.rows / options.vintages), options.rows],
    );
    // Every vintage is its publication too (core.publication, the view of the vintages and the quiet publications).
    await client.query('COMMIT');
    return inserted.rowCount ?? 0;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A Baoshan table page stating its 2025 GDP (the change whose latency is measured). */
function changePage(value: string, published: string): string {
  return `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="PubDate" content="${published}">
<title>2025年1-12月宝山区主要经济指标</title></head><body><h1>2025年1-12月宝山区主要经济指标</h1>
<div class="con-info"><span>发布日期：${published.slice(0, 10)}</span></div>
<table border="1"><tr><th>指标</th><th>累计绝对值(亿元)</th><th>累计增长(%)</th></tr>
<tr><td>地区生产总值</td><td>${value}</td><td>5.1</td></tr></table>
<p>注：地区生产总值为季度数据，增速按可比价格计算。</p></body></html>`;
}

async function archiveChange(db: BenchDatabase, k: number): Promise<{ id: number; value: string }> {
  const value = (2100 + k * 7.31).toFixed(2);
  // Each change a newer publication, after every synthetic one.
  const day = new Date(Date.UTC(2030, 0, 1) + k * 86_400_000).toISOString().slice(0, 10);
  const html = changePage(value, `${day} 10:00`);
  const url = `https://${BENCH_HOST}/synthetic/change-${k}.html`;
  const { rows } = await db.pool.query<{ id: number }>(
    `INSERT INTO raw.document (source_key, url, final_url, http_status, content_type, charset, body_gzip, body_size, text, sha256_bytes, sha256_canonical, role, format)
     VALUES ('bench-synthetic', $1, $1, 200, 'text/html; charset=utf-8', 'utf-8', $2, $3, $4, md5($1) || md5($1), md5($1 || 'c') || md5($1 || 'c'), 'document', 'stats-table')
     RETURNING id`,
    [url, gzipSync(Buffer.from(html)), Buffer.byteLength(html), html],
  );
  return { id: rows[0]!.id, value };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

interface Dataset {
  size: number;
  db: BenchDatabase;
  stored: number;
  latencies: number[];
  normalizeMs: number[];
  aggregateMs: number[];
}

/** A database holding `size` observations: the recent series, then history down to the size. */
async function loadDataset(config: BenchConfig, size: number): Promise<Dataset> {
  const db = await createBenchDatabase(config, [SYNTHETIC_SOURCE]);
  const started = performance.now();
  const recent = await loadSeries(db, { toYear: RECENT_TO, fromYear: RECENT_FROM, vintages: 1, rows: size });
  const historyRows = size - recent;
  if (historyRows > 0) {
    const vintages = Math.min(MAX_VINTAGES, Math.ceil(historyRows / (3 * 13 * 35 * (RECENT_FROM - 1900))));
    await loadSeries(db, { toYear: RECENT_FROM - 1, fromYear: 1900, vintages, rows: historyRows });
  }
  await db.pool.query('VACUUM ANALYZE');
  const stored = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM core.observation')).rows[0]!.n;
  note(`aggregate: ${stored} observations stored (${recent} of ${RECENT_FROM}–${RECENT_TO}), loaded in ${round((performance.now() - started) / 1000, 1)} s`);
  return { size, db, stored, latencies: [], normalizeMs: [], aggregateMs: [] };
}

export async function measureAggregate(config: BenchConfig, options: { sizes: number[]; repeats: number }): Promise<void> {
  const redis = await createBenchRedis(config);
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const datasets: Dataset[] = [];
  try {
    for (const size of [...options.sizes].sort((a, b) => a - b)) datasets.push(await loadDataset(config, size));
    const catalog = await loadCatalog(datasets[0]!.db.pool);
    // The targets' history is brought up to date first (not part of the latency: a running
    // deployment has it already).
    for (const dataset of datasets) await aggregate({ scope: 'baoshan', indicator: 'gdp' }, { pool: dataset.db.pool, logger });
    // Changes alternate between the datasets, so a busy moment of the machine hits both alike.
    for (let k = 1; k <= options.repeats; k += 1) {
      for (const dataset of datasets) {
        const { pool } = dataset.db;
        const change = await archiveChange(dataset.db, k);
        const started = performance.now();
        await normalizeDocument(change.id, { pool, queues: redis.queues, logger, catalog });
        const normalized = performance.now();
        // What the normalize job enqueued: one aggregate job for (baoshan, gdp).
        await aggregate({ scope: 'baoshan', indicator: 'gdp' }, { pool, logger });
        const aggregated = performance.now();
        const { rows } = await pool.query<{ actual_value: string }>("SELECT actual_value::text FROM agg.latest_progress WHERE target_key = 'bs-gdp'");
        const shown = rows[0]?.actual_value;
        if (shown === undefined || Number(shown) !== Number(change.value)) throw new Error(`latest_progress shows ${shown}, not the new figure ${change.value}`);
        dataset.latencies.push(performance.now() - started);
        dataset.normalizeMs.push(normalized - started);
        dataset.aggregateMs.push(aggregated - normalized);
      }
    }
    const smallest = median(datasets[0]!.latencies);
    for (const dataset of datasets) {
      report({
        measure: 'aggregate',
        observations: dataset.stored,
        latencyMs: round(median(dataset.latencies), 1),
        normalizeMs: round(median(dataset.normalizeMs), 1),
        aggregateMs: round(median(dataset.aggregateMs), 1),
        ofSmallest: round(median(dataset.latencies) / smallest, 2),
        changes: dataset.latencies.length,
      });
    }
  } finally {
    await redis.cleanup();
    for (const dataset of datasets) {
      if (config.keep) note(`kept database ${dataset.db.url}`);
      else await dataset.db.drop();
    }
  }
}
