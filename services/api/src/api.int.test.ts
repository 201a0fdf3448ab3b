/**
 * The read API over a database filled the way an operator fills it: `nst run --once --offline`
 * (offline publisher → fetch → normalize → aggregate) into a fresh database. The API connects as
 * nst_reader, and every answer is checked against what the database holds.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@nst/shared/db';
import { createLogger } from '@nst/shared/logger';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { runOfflineJob } from '../../../tests/helpers';
import { readerUrlOf } from './env';
import { buildServer } from './server';
import { ProgressResponse } from './routes/progress';
import { SeriesResponse } from './routes/series';
import { NewsResponse } from './routes/news';
import { IndicatorsResponse, SourcesResponse } from './routes/sources';
import { DocumentMeta } from './routes/documents';


// From the fixture bulletins (seeds/fixtures/figures.yaml), as in tests/e2e/pipeline.int.test.ts.
const BAOSHAN_2025 = '1987.45';
const JINSHAN_2025 = '1296.30';

describe('the read API', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let reader: Pool;
  let app: FastifyInstance;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    redis = await createTestRedis();
    await runOfflineJob({ databaseUrl: db.url, redisUrl: redis.url, prefix: redis.prefix });
    reader = createPool(readerUrlOf(db.url), { max: 2, applicationName: 'nst-test-api' });
    app = await buildServer({ pool: reader, logger: createLogger({ service: 'api-test', level: 'silent' }) });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await reader?.end();
    await redis?.cleanup();
    await db?.drop();
  });

  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
  const json = async <T>(url: string): Promise<T> => {
    const response = await get(url);
    expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    return response.json() as T;
  };
  const expectBadParameter = async (url: string, name: string) => {
    const response = await get(url);
    expect(response.statusCode, url).toBe(400);
    const body = response.json() as { error: string; message: string };
    expect(body.error).toBe('bad_request');
    expect(body.message).toContain(`${name}:`);
  };

  describe('its connection', () => {
    it('is nst_reader, which may read agg and nothing else, and cannot write', async () => {
      const { rows } = await reader.query('SELECT current_user');
      expect(rows[0].current_user).toBe('nst_reader');
      await expect(reader.query('SELECT 1 FROM raw.document LIMIT 1')).rejects.toThrow(/permission denied/);
      await expect(reader.query('SELECT 1 FROM core.news_item LIMIT 1')).rejects.toThrow(/permission denied/);
      await expect(reader.query("UPDATE agg.target SET value = 1 WHERE key = 'ns-gdp-4000'")).rejects.toThrow(/permission denied/);
      await expect(reader.query('DELETE FROM agg.progress_snapshot')).rejects.toThrow(/permission denied/);
    });
  });

  describe('GET /api/progress', () => {
    it('returns every target with its latest snapshot, as the database holds it', async () => {
      const body = ProgressResponse.parse(await json('/api/progress'));
      const targets = await db.pool.query('SELECT count(*)::int AS n FROM agg.target');
      expect(body.as_of).toBeNull();
      expect(body.items).toHaveLength(targets.rows[0].n);

      const goal = body.items.find((i) => i.target_key === 'ns-gdp-4000')!;
      const { rows } = await db.pool.query("SELECT * FROM agg.latest_progress WHERE target_key = 'ns-gdp-4000'");
      expect(goal).toMatchObject({
        scope: 'north_south',
        kind: 'level',
        target_value: '4000',
        target_year: 2025,
        actual_value: '3283.75',
        actual_period: '2025',
        progress_pct: '82.09',
        gap: '716.25',
        status: 'missed',
      });
      expect(goal.actual_value).toBe(String(rows[0].actual_value));
      expect(goal.description_zh).toContain('4000亿元');
      expect(new Date(goal.known_from!).getTime()).toBe(new Date(rows[0].known_from).getTime());
    });

    it('names the document of every input, the one the observation came from', async () => {
      const body = ProgressResponse.parse(await json('/api/progress'));
      const inputs = body.items.flatMap((i) => i.inputs);
      expect(inputs.length).toBeGreaterThan(10);
      const { rows } = await db.pool.query<{ id: number; document_id: number; url: string }>(
        'SELECT id, document_id, url FROM core.observation WHERE id = ANY($1)',
        [inputs.map((i) => i.observation_id)],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const input of inputs) {
        expect(input.document_id).toBe(byId.get(input.observation_id)?.document_id);
        expect(input.source_url).toBe(byId.get(input.observation_id)?.url);
        expect(input.source_url).toMatch(/^https:\/\/[a-z.]+\.gov\.cn\//);
      }
      const goal = body.items.find((i) => i.target_key === 'ns-gdp-4000')!;
      expect(goal.inputs.filter((i) => i.period === '2025').map((i) => [i.district, i.value])).toEqual([
        ['baoshan', BAOSHAN_2025],
        ['jinshan', JINSHAN_2025],
      ]);
    });

    it('answers ?as_of= with what was known then', async () => {
      // The snapshot in force before the latest one: what the page showed until the latest inputs came out.
      const { rows: history } = await db.pool.query(
        "SELECT actual_value::text, known_from, known_to FROM agg.progress_snapshot WHERE target_key = 'ns-gdp-4000' AND known_to IS NOT NULL ORDER BY known_from DESC LIMIT 1",
      );
      expect(history).toHaveLength(1);
      const instant = new Date(history[0].known_to.getTime() - 1).toISOString();
      const earlier = ProgressResponse.parse(await json(`/api/progress?as_of=${encodeURIComponent(instant)}`));
      expect(earlier.as_of).toBe(instant);
      const goal = earlier.items.find((i) => i.target_key === 'ns-gdp-4000')!;
      expect(goal.actual_value).toBe(history[0].actual_value);
      expect(goal.actual_value).not.toBe('3283.75');
      expect(new Date(goal.known_to!).getTime()).toBe(history[0].known_to.getTime());

      // A `+` left unencoded decodes to a space; it is still the zone's sign.
      const unencoded = ProgressResponse.parse(await json('/api/progress?as_of=2025-06-30T09:00:00+08:00'));
      expect(unencoded.as_of).toBe('2025-06-30T01:00:00.000Z');

      // A date means the end of that day in Shanghai.
      const day = ProgressResponse.parse(await json('/api/progress?as_of=2025-06-30'));
      expect(day.as_of).toBe('2025-06-30T15:59:59.999Z');
      const { rows } = await db.pool.query(
        "SELECT target_key, actual_value::text FROM agg.progress_as_of('2025-06-30T23:59:59.999+08:00') ORDER BY target_key",
      );
      expect(day.items.filter((i) => i.actual_value !== null).map((i) => [i.target_key, i.actual_value]).sort()).toEqual(
        rows.map((r) => [r.target_key, r.actual_value]),
      );

      const before = ProgressResponse.parse(await json('/api/progress?as_of=2020-01-01'));
      expect(before.items.every((i) => i.status === null && i.actual_value === null)).toBe(true);
    });

    it('filters by plan release', async () => {
      expect(ProgressResponse.parse(await json('/api/progress?release=opinions-2022')).items.length).toBeGreaterThan(0);
      expect(ProgressResponse.parse(await json('/api/progress?release=fyp-15')).items).toEqual([]);
    });

    it('refuses a bad parameter with a 400 naming it', async () => {
      await expectBadParameter('/api/progress?as_of=yesterday', 'as_of');
      await expectBadParameter('/api/progress?as_of=2026-02-30', 'as_of');
      await expectBadParameter('/api/progress?release=Opinions%202022', 'release');
      await expectBadParameter('/api/progress?asof=2026-01-01', 'asof');
    });
  });

  describe('GET /api/series', () => {
    const gdp = '/api/series?district=baoshan,jinshan&indicator=gdp&measure=level&accumulation=period&from=2021&to=2025';

    it('returns the current observations with their sources, as agg.series holds them', async () => {
      const body = SeriesResponse.parse(await json(gdp));
      const { rows } = await db.pool.query(
        `SELECT district, period, value::text, source_url, document_id FROM agg.series
         WHERE indicator = 'gdp' AND measure = 'level' AND accumulation = 'period' AND district IN ('baoshan', 'jinshan')
           AND period BETWEEN '2021' AND '2025' ORDER BY district, period`,
      );
      expect(body.count).toBe(10);
      expect(body.items.map((r) => [r.district, r.period, r.value, r.source_url, r.document_id])).toEqual(
        rows.map((r) => [r.district, r.period, r.value, r.source_url, r.document_id]),
      );
      const baoshan2025 = body.items.find((r) => r.district === 'baoshan' && r.period === '2025')!;
      expect(baoshan2025).toMatchObject({ value: BAOSHAN_2025, unit: 'CNY', unit_mult: 8, period_start: '2025-01-01', period_end: '2025-12-31' });
      expect(baoshan2025.raw_value).toContain('1,987.45');
    });

    it('keeps periods inside from..to, months and quarters included', async () => {
      // A figure sits where its period ends: January–June 2025 (ytd 2025-06) is inside 2025-Q2..2025-09.
      const body = SeriesResponse.parse(await json('/api/series?district=jinshan&indicator=industrial_output&accumulation=ytd&measure=level&from=2025-Q2&to=2025-09'));
      expect(body.items.map((r) => r.period)).toEqual(['2025-04', '2025-05', '2025-06', '2025-07', '2025-08', '2025-09']);
      const days = SeriesResponse.parse(await json('/api/series?district=jinshan&indicator=gdp&measure=level&from=2024-12-31&to=2024-12-31'));
      expect(days.items.map((r) => [r.period, r.accumulation])).toEqual([['2024', 'period']]);
    });

    it('answers in CSV for Accept: text/csv and for ?format=csv, with the same rows', async () => {
      const byHeader = await get(gdp, { accept: 'text/csv' });
      const byParameter = await get(`${gdp}&format=csv`);
      expect(byHeader.statusCode).toBe(200);
      expect(byHeader.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(byParameter.body).toBe(byHeader.body);
      const lines = byHeader.body.trimEnd().split('\r\n');
      expect(lines[0]).toBe(
        'district,indicator,measure,accumulation,period,period_start,period_end,basis,value,raw_value,unit,unit_mult,status,valid_from,source_url,locator,document_id,observation_id',
      );
      expect(lines).toHaveLength(11);
      expect(lines.find((l) => l.startsWith('baoshan,gdp,level,period,2025,'))).toContain(`,${BAOSHAN_2025},`);
      // JSON stays the default, and wins when the client prefers it.
      expect((await get(gdp)).headers['content-type']).toMatch(/^application\/json/);
      expect((await get(gdp, { accept: 'application/json, text/csv;q=0.5' })).headers['content-type']).toMatch(/^application\/json/);
    });

    it('refuses a bad parameter with a 400 naming it', async () => {
      await expectBadParameter('/api/series?district=pudong', 'district');
      await expectBadParameter('/api/series?district=baoshan,nowhere', 'district');
      await expectBadParameter('/api/series?indicator=GDP', 'indicator');
      await expectBadParameter('/api/series?measure=total', 'measure');
      await expectBadParameter('/api/series?accumulation=monthly', 'accumulation');
      await expectBadParameter('/api/series?from=2025-13', 'from');
      await expectBadParameter('/api/series?to=25', 'to');
      await expectBadParameter('/api/series?from=2025&to=2024', 'from');
      await expectBadParameter('/api/series?format=xml', 'format');
      await expectBadParameter('/api/series?district=baoshan&district=jinshan', 'district');
    });
  });

  describe('GET /api/news', () => {
    it('filters by district, industry and area, most recent first', async () => {
      const all = NewsResponse.parse(await json('/api/news?limit=200'));
      const total = await db.pool.query('SELECT count(*)::int AS n FROM core.news_item');
      expect(all.count).toBe(total.rows[0].n);
      const dates = all.items.map((n) => n.published_at ?? '');
      expect([...dates].sort().reverse()).toEqual(dates);

      const jinshan = NewsResponse.parse(await json('/api/news?district=jinshan&limit=200'));
      const expected = await db.pool.query("SELECT count(*)::int AS n FROM core.news_item WHERE 'jinshan' = ANY(districts)");
      expect(jinshan.count).toBe(expected.rows[0].n);
      expect(jinshan.items.every((n) => n.districts.includes('jinshan'))).toBe(true);

      const robots = NewsResponse.parse(await json('/api/news?industry=robotics&area=nanda&limit=200'));
      expect(robots.count).toBeGreaterThan(0);
      expect(robots.items.every((n) => n.industries.includes('robotics') && n.areas.includes('nanda'))).toBe(true);
      expect(robots.items.every((n) => n.source_url.startsWith('https://') && n.document_id > 0)).toBe(true);

      expect(NewsResponse.parse(await json('/api/news')).count).toBe(Math.min(20, total.rows[0].n));
      expect(NewsResponse.parse(await json('/api/news?lang=en&limit=200')).items.every((n) => n.lang === 'en')).toBe(true);
    });

    it('refuses a bad parameter with a 400 naming it', async () => {
      await expectBadParameter('/api/news?district=north', 'district');
      await expectBadParameter('/api/news?industry=New%20Materials', 'industry');
      await expectBadParameter('/api/news?area=%E5%90%B4%E6%B7%9E', 'area');
      await expectBadParameter('/api/news?limit=0', 'limit');
      await expectBadParameter('/api/news?limit=ten', 'limit');
      await expectBadParameter('/api/news?limit=1000', 'limit');
    });
  });

  describe('GET /api/sources and /api/indicators', () => {
    it('lists every source with its last fetch', async () => {
      const body = SourcesResponse.parse(await json('/api/sources'));
      const { rows } = await db.pool.query<{ key: string; at: Date; outcome: string }>(
        'SELECT DISTINCT ON (source_key) source_key AS key, at, outcome FROM raw.fetch_log ORDER BY source_key, at DESC, id DESC',
      );
      const sources = await db.pool.query('SELECT count(*)::int AS n FROM raw.source');
      expect(body.count).toBe(sources.rows[0].n);
      for (const row of rows) {
        const source = body.items.find((s) => s.key === row.key)!;
        expect(source.last_outcome).toBe(row.outcome);
        expect(new Date(source.last_fetch_at!).getTime()).toBe(row.at.getTime());
        expect(source.documents).toBeGreaterThan(0);
      }
      expect(body.items.every((s) => s.last_outcome === 'archived' && s.last_http_status === 200)).toBe(true);
      await expectBadParameter('/api/sources?all=1', 'all');
    });

    it('lists the indicator catalog in both languages', async () => {
      const body = IndicatorsResponse.parse(await json('/api/indicators'));
      expect(body.items.find((i) => i.code === 'gdp')).toMatchObject({ name_zh: '地区生产总值', unit: 'CNY', unit_mult: 8 });
    });
  });

  describe('GET /api/documents/:id', () => {
    const documentOf = async (district: string, period: string) =>
      (await db.pool.query("SELECT document_id, url FROM core.observation_current WHERE indicator = 'gdp' AND measure = 'level' AND district = $1 AND period = $2", [district, period])).rows[0] as { document_id: number; url: string };

    it('serves the archived page a figure came from, sandboxed, naming the publisher URL', async () => {
      const { document_id: id, url } = await documentOf('baoshan', '2025');
      const response = await get(`/api/documents/${id}`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['content-security-policy']).toMatch(/^sandbox;/);
      expect(response.headers.link).toBe(`<${url}>; rel="canonical"`);
      expect(response.body).toContain('1,987.45');

      const meta = DocumentMeta.parse(await json(`/api/documents/${id}?format=json`));
      expect(meta).toMatchObject({ id, url, content_type: expect.stringMatching(/^text\/html/) });
      expect(meta.text).toContain('1,987.45');
    });

    it('serves a GBK page decoded, as UTF-8', async () => {
      const { rows } = await db.pool.query(
        "SELECT d.id FROM raw.document d WHERE d.content_type ILIKE '%gbk%' AND d.role = 'document' AND EXISTS (SELECT 1 FROM core.observation o WHERE o.document_id = d.id) LIMIT 1",
      );
      const response = await get(`/api/documents/${rows[0].id}`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.body).toMatch(/[\u4e00-\u9fff]/);
    });

    it('serves the archived copy of a news article', async () => {
      const news = NewsResponse.parse(await json('/api/news?limit=1'));
      const response = await get(`/api/documents/${news.items[0]!.document_id}`);
      expect(response.statusCode).toBe(200);
    });

    it('does not serve documents nothing was taken from (list pages), nor bad ids', async () => {
      const { rows } = await db.pool.query("SELECT id FROM raw.document WHERE role = 'list' LIMIT 1");
      const list = await get(`/api/documents/${rows[0].id}`);
      expect(list.statusCode).toBe(404);
      expect(list.json()).toMatchObject({ error: 'not_found' });
      expect((await get('/api/documents/999999999')).statusCode).toBe(404);
      await expectBadParameter('/api/documents/abc', 'id');
      await expectBadParameter('/api/documents/-3', 'id');
      await expectBadParameter('/api/documents/1?format=pdf', 'format');
    });
  });

  describe('the OpenAPI document', () => {
    it('describes every route with its parameters', async () => {
      const doc = await json<{ openapi: string; paths: Record<string, { get: { parameters: Array<{ name: string; in: string; required: boolean }> } }> }>('/api/openapi.json');
      expect(doc.openapi).toBe('3.1.0');
      expect(Object.keys(doc.paths).sort()).toEqual(
        ['/api/documents/{id}', '/api/indicators', '/api/news', '/api/progress', '/api/series', '/api/sources'].sort(),
      );
      expect(doc.paths['/api/series']!.get.parameters.map((p) => p.name)).toEqual(['district', 'indicator', 'measure', 'accumulation', 'from', 'to', 'format']);
      expect(doc.paths['/api/progress']!.get.parameters.map((p) => p.name)).toEqual(['as_of', 'release']);
      expect(doc.paths['/api/documents/{id}']!.get.parameters[0]).toMatchObject({ name: 'id', in: 'path', required: true });
      expect(doc.paths['/api/news']!.get.parameters.every((p) => !p.required)).toBe(true);
    });
  });

  describe('writes', () => {
    it.each(['POST', 'PUT', 'PATCH', 'DELETE'] as const)('%s is refused on every route, and nothing changes', async (method) => {
      const before = await db.pool.query('SELECT count(*)::int AS n FROM agg.progress_snapshot');
      for (const url of ['/api/progress', '/api/series', '/api/news', '/api/sources', '/api/documents/1', '/']) {
        const response = await app.inject({ method, url, payload: { value: 1 } });
        expect([404, 405], `${method} ${url}`).toContain(response.statusCode);
      }
      expect((await db.pool.query('SELECT count(*)::int AS n FROM agg.progress_snapshot')).rows[0].n).toBe(before.rows[0].n);
    });
  });

  describe('ops and the dashboard files', () => {
    it('answers /healthz, /readyz and /metrics', async () => {
      expect((await get('/healthz')).json()).toEqual({ ok: true });
      expect((await get('/readyz')).json()).toEqual({ ok: true, checks: { postgres: 'ok' } });
      const metrics = await get('/metrics');
      expect(metrics.body).toContain('nst_http_requests_total{route="/api/progress"');
    });

    it('serves the dashboard and ECharts from node_modules, nothing else from there', async () => {
      const page = await get('/');
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('/vendor/echarts/echarts.min.js');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      const echarts = await get('/vendor/echarts/echarts.min.js');
      expect(echarts.statusCode).toBe(200);
      expect(echarts.body.length).toBeGreaterThan(500_000);
      expect((await get('/vendor/echarts/echarts.js')).statusCode).toBe(404);
      expect((await get('/vendor/echarts/../package.json')).statusCode).toBe(404);
      expect((await get('/dashboard/app.js')).statusCode).toBe(200);
      expect((await get('/nowhere')).json()).toMatchObject({ error: 'not_found' });
    });
  });

  describe('with the database gone', () => {
    it('is alive but not ready, and answers 503 rather than hanging', async () => {
      const deadPool = createPool('postgres://nst_reader@127.0.0.1:1/none', { max: 1, applicationName: 'nst-test-api-dead' });
      const dead = await buildServer({ pool: deadPool, logger: createLogger({ service: 'api-test', level: 'silent' }) });
      try {
        expect((await dead.inject('/healthz')).statusCode).toBe(200);
        const ready = await dead.inject('/readyz');
        expect(ready.statusCode).toBe(503);
        expect(ready.json().checks.postgres).not.toBe('ok');
        const progress = await dead.inject('/api/progress');
        expect(progress.statusCode).toBe(503);
        expect(progress.json()).toMatchObject({ error: 'unavailable' });
      } finally {
        await dead.close();
        await deadPool.end();
      }
    });
  });
});
