/**
 * The whole pipeline, as an operator runs it: `nst run --once --offline` (offline publisher →
 * fetch → normalize → aggregate) against real Redis and PostgreSQL, then the progress toward
 * the 4000 亿元 goal checked against figures worked out by hand from the fixture bulletins.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAggregateWorker } from '@nst/aggregator';
import { createFetchDeps, createFetchWorker, loadSources, startPublisher, type Publisher } from '@nst/fetcher';
import { createNormalizeWorker, loadCatalog } from '@nst/normalizer/service';
import { closeQueues, createQueues, enqueue, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, waitForQueuesIdle, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { ROOT } from '../helpers';

const run = promisify(execFile);

// From the fixture bulletins (seeds/fixtures/figures.yaml): 2021 GDP is real (DESIGN.md), 2025 a sample.
const BAOSHAN_2021 = 1725.0;
const JINSHAN_2021 = 1182.0;
const BAOSHAN_2025 = 1987.45;
const JINSHAN_2025 = 1296.3;
const JINSHAN_BULLETIN_2025 = 'www.jinshan.gov.cn/tjxx-tjgb/20260405/907ab662-10fd-45a9-a4fd-e071515273ea.html';

const round = (value: number, places: number) => Number(value.toFixed(places));
const cagrPct = (from: number, to: number, years: number) => ((to / from) ** (1 / years) - 1) * 100;

describe('the offline pipeline end to end', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  const nst = (...args: string[]) =>
    run(`${ROOT}node_modules/.bin/tsx`, ['packages/cli/src/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix },
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });

  async function checksums(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const table of ['raw.document', 'core.observation', 'core.reject', 'core.news_item', 'agg.progress_snapshot']) {
      const { rows } = await db.pool.query(`SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS md5 FROM ${table} t`);
      out[table] = `${rows[0].n}:${rows[0].md5}`;
    }
    return out;
  }

  const latest = async (key: string) =>
    (await db.pool.query('SELECT * FROM agg.latest_progress WHERE target_key = $1', [key])).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    redis = await createTestRedis();
    const { stdout } = await nst('run', '--once', '--offline');
    expect(stdout).toMatch(/archive: \d+ documents/);
    expect(stdout).toContain('ns-gdp-4000');
  }, 300_000);

  afterAll(async () => {
    await redis?.cleanup();
    await db?.drop();
  });

  it('archives every source without a failed fetch and stores figures with their sources', async () => {
    const failures = await db.pool.query("SELECT url, error_code FROM raw.fetch_log WHERE outcome IN ('failed', 'refused')");
    expect(failures.rows).toEqual([]);
    const perSource = await db.pool.query("SELECT s.key, count(d.id)::int AS n FROM raw.source s LEFT JOIN raw.document d ON d.source_key = s.key AND d.role = 'document' GROUP BY s.key");
    for (const row of perSource.rows) expect(row.n, row.key).toBeGreaterThan(0);
    const unsourced = await db.pool.query("SELECT count(*)::int AS n FROM core.observation WHERE url = '' OR locator = '' OR document_id IS NULL");
    expect(unsourced.rows[0].n).toBe(0);
  });

  it('Baoshan, Jinshan and the two combined: GDP progress toward 4000 亿元 matches the hand computation', async () => {
    const baoshan = await latest('bs-gdp');
    // The first publication of the 2025 figure is the January monthly table (1-12月); the bulletin
    // repeats it in March, which opens no new vintage.
    expect(baoshan).toMatchObject({ actual_period: '2025', partial: false, actual_status: 'final', status: 'tracked' });
    expect(Number(baoshan.actual_value)).toBe(BAOSHAN_2025);
    expect(Number(baoshan.base_value)).toBe(BAOSHAN_2021);
    expect(Number(baoshan.cagr_realised_pct)).toBe(round(cagrPct(BAOSHAN_2021, BAOSHAN_2025, 4), 2));

    const jinshan = await latest('js-gdp');
    expect(Number(jinshan.actual_value)).toBe(JINSHAN_2025);
    expect(Number(jinshan.cagr_realised_pct)).toBe(round(cagrPct(JINSHAN_2021, JINSHAN_2025, 4), 2));

    const combined = await latest('ns-gdp-4000');
    const actual = BAOSHAN_2025 + JINSHAN_2025; // 3283.75
    expect(combined).toMatchObject({ scope: 'north_south', actual_period: '2025', partial: false, status: 'missed' });
    expect(Number(combined.target_value)).toBe(4000);
    expect(Number(combined.actual_value)).toBe(round(actual, 2));
    expect(Number(combined.base_value)).toBe(BAOSHAN_2021 + JINSHAN_2021);
    expect(Number(combined.progress_pct)).toBe(round((actual / 4000) * 100, 2)); // 82.09
    expect(Number(combined.gap)).toBe(round(4000 - actual, 2)); // 716.25
    expect(Number(combined.cagr_realised_pct)).toBe(round(cagrPct(BAOSHAN_2021 + JINSHAN_2021, actual, 4), 2));
    // Every number points to the documents it came from: the district monthly tables of January 2026.
    const urls = (combined.inputs as Array<{ url: string; period: string }>).filter((i) => i.period === '2025').map((i) => i.url).sort();
    expect(urls).toEqual([
      'https://www.jinshan.gov.cn/tjxx-ydsj/20260125/f576bb90-0e60-4384-ac6e-ea7ce731ba4d.html',
      'https://xxgk.shbsq.gov.cn/tjsj/ydsj/202601/t20260123_411378.html',
    ]);
  });

  it('consumers read the same through agg.series', async () => {
    const { rows } = await db.pool.query(
      "SELECT district, value::text, status, source_url FROM agg.series WHERE indicator = 'gdp' AND measure = 'level' AND period = '2025' AND accumulation = 'period' ORDER BY district",
    );
    expect(rows.map((r) => [r.district, Number(r.value)])).toEqual([['baoshan', BAOSHAN_2025], ['jinshan', JINSHAN_2025], ['shanghai', 56520.3]]);
    expect(rows.every((r) => r.source_url.startsWith('https://'))).toBe(true);
  });

  it('replaying the whole run changes no row', async () => {
    const before = await checksums();
    await nst('run', '--once', '--offline');
    expect(await checksums()).toEqual(before);
    const { rows: [{ n: documents }] } = await db.pool.query("SELECT count(*)::int AS n FROM raw.document WHERE role = 'document'");
    const connection = createRedis(redis.url, { name: redis.prefix });
    const queues = createQueues({ connection, prefix: redis.prefix });
    try {
      const completedBefore = await queues.normalize.getCompletedCount();
      expect((await nst('reprocess', '--inline')).stdout).toContain(`reprocessed ${documents} documents`);
      expect(await checksums()).toEqual(before);
      // --full stores every document again instead of trusting the stored digests: still no change.
      await nst('reprocess', '--inline', '--full');
      expect(await checksums()).toEqual(before);
      // Every document went through the normalizer, twice.
      expect(await queues.normalize.getCompletedCount()).toBe(completedBefore + 2 * documents);
    } finally {
      await closeQueues(queues);
      connection.disconnect();
    }
  });

  describe('a revised input', () => {
    let publisher: Publisher;
    let connection: Redis;
    let queues: Queues;
    let workers: Worker[];
    const revisedAt = '2026-09-30T02:00:00.000Z';

    beforeAll(async () => {
      publisher = await startPublisher();
      connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
      queues = createQueues({ connection, prefix: redis.prefix });
      const logger = createLogger({ service: 'e2e', level: 'silent' });
      const deps = createFetchDeps({
        env: {
          NST_OFFLINE: true, NST_PUBLISHER_URL: publisher.url, NST_QUEUE_PREFIX: redis.prefix, FETCH_USER_AGENT: 'nst-e2e/1.0',
          FETCH_CONNECT_TIMEOUT_MS: 2000, FETCH_MAX_REDIRECTS: 5, ROBOTS_CACHE_SECONDS: 60, FETCH_ATTEMPTS: 2, FETCH_BACKOFF_MS: 10,
        },
        pool: db.pool, queues, redis: connection, logger, sources: await loadSources(db.pool), politeness: 'off',
      });
      workers = [
        createFetchWorker(deps, { connection, prefix: redis.prefix, concurrency: 2, backoffMs: 10 }),
        createNormalizeWorker({ pool: db.pool, queues, logger, catalog: await loadCatalog(db.pool) }, { connection, prefix: redis.prefix, concurrency: 2 }),
        createAggregateWorker({ pool: db.pool, logger }, { connection, prefix: redis.prefix, concurrency: 1 }),
      ];
    });
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.close()));
      await closeQueues(queues);
      connection.disconnect();
      await publisher.close();
    });

    it('changes the snapshot, and the as-of view still returns the earlier one', async () => {
      const before = await latest('ns-gdp-4000');
      // Jinshan republishes its 2025 bulletin in September 2026 with GDP revised to 1,310.00 亿元.
      const { rows } = await db.pool.query("SELECT text FROM raw.document WHERE url = $1", [`https://${JINSHAN_BULLETIN_2025}`]);
      const original: string = rows[0].text;
      expect(original).toContain('1296.30');
      const revised = original.replace('1296.30', '1310.00').replace(/(<meta name="PubDate" content=")[^"]+/, '$12026-09-30 10:00');
      publisher.setFault(JINSHAN_BULLETIN_2025, { kind: 'body', body: revised, contentType: 'text/html; charset=utf-8' });
      await enqueue(queues, 'fetch-source', { sourceKey: 'js-bulletin', url: `https://${JINSHAN_BULLETIN_2025}`, role: 'document', force: true, tick: 'revision' }, { jobId: 'revision', attempts: 2 });
      await waitForQueuesIdle([queues.fetch, queues.normalize, queues.aggregate], { timeoutMs: 60_000 });

      const after = await latest('ns-gdp-4000');
      expect(Number(after.actual_value)).toBe(round(BAOSHAN_2025 + 1310.0, 2));
      expect(new Date(after.known_from).toISOString()).toBe(revisedAt);
      expect(Number(after.progress_pct)).toBe(round(((BAOSHAN_2025 + 1310.0) / 4000) * 100, 2));

      const asOf = async (ts: string) =>
        (await db.pool.query("SELECT actual_value::text FROM agg.progress_as_of($1) WHERE target_key = 'ns-gdp-4000'", [ts])).rows.map((r) => Number(r.actual_value));
      expect(await asOf('2026-09-01T00:00:00Z')).toEqual([Number(before.actual_value)]);
      expect(await asOf('2026-10-01T00:00:00Z')).toEqual([round(BAOSHAN_2025 + 1310.0, 2)]);
      // The earlier snapshot row itself is kept, closed at the revision.
      const history = await db.pool.query("SELECT actual_value::text, known_to FROM agg.progress_snapshot WHERE target_key = 'ns-gdp-4000' AND id = $1", [before.id]);
      expect(new Date(history.rows[0].known_to).toISOString()).toBe(revisedAt);
    });
  });
});
