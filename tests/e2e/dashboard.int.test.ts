/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core): the API runs as
 * a real process (services/api/src/main.ts, connecting as nst_reader) over a database filled by
 * `nst run --once --offline`; the page must draw the figures the database holds, and a figure's
 * source link must resolve to the archived document containing that figure. Without chromium the
 * test fails: `.ci/run` installs it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { freePort, runOfflineJob, startService, type ServiceProcess } from '../helpers';

const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshot goes; DASHBOARD_SCREENSHOT=docs/dashboard.png refreshes the README's. */
const SCREENSHOT = process.env.DASHBOARD_SCREENSHOT ?? join(tmpdir(), 'nst-dashboard.png');

interface ChartPoint { value: number; documentId?: number; url?: string }
interface ChartSeries { id: string; name: string; data: Array<ChartPoint | number | null>; markLine?: { data: Array<{ yAxis: number }> } }
interface ChartOption { xAxis: Array<{ data: string[] }>; series: ChartSeries[] }

describe('the dashboard in a browser', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let api: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let base: string;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    db = await createTestDatabase({ migrate: false, seed: false });
    redis = await createTestRedis();
    await runOfflineJob({ databaseUrl: db.url, redisUrl: redis.url, prefix: redis.prefix });
    const port = await freePort();
    // API_DATABASE_URL is left to its default: DATABASE_URL with the user nst_reader.
    api = startService('services/api/src/main.ts', { DATABASE_URL: db.url, PORT: String(port), API_HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    await api.waitForLine((line) => line.msg === 'api started');
    base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    page.on('response', (response) => { if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`); });
    await page.goto(`${base}/?lang=zh`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (api) {
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    }
    await redis?.cleanup();
    await db?.drop();
  });

  const chartOption = (id: string) =>
    page.evaluate((elementId) => {
      // Runs in the page (where the DOM and the ECharts global live); the tests' types know only Node.
      const { echarts, document } = globalThis as unknown as {
        echarts: { getInstanceByDom(el: unknown): { getOption(): unknown } | undefined };
        document: { getElementById(id: string): unknown };
      };
      const instance = echarts.getInstanceByDom(document.getElementById(elementId));
      return JSON.parse(JSON.stringify(instance?.getOption() ?? null));
    }, id) as Promise<ChartOption>;
  const values = (series: ChartSeries | undefined) =>
    (series?.data ?? []).map((p) => (p === null ? null : typeof p === 'number' ? p : p.value));

  it('shows a card per 2025 goal with actual, target, progress and status from the database', async () => {
    const { rows } = await db.pool.query(
      `SELECT t.key, p.actual_value::text, p.progress_pct::text, p.status FROM agg.target t
       LEFT JOIN agg.latest_progress p ON p.release = t.release AND p.target_key = t.key WHERE t.target_year = 2025`,
    );
    expect(rows.length).toBeGreaterThan(3);
    for (const row of rows) {
      const card = page.locator(`article[data-target-key="${row.key}"]`);
      await expect(card.getAttribute('data-actual'), row.key).resolves.toBe(row.actual_value ?? '');
      await expect(card.getAttribute('data-progress'), row.key).resolves.toBe(row.progress_pct ?? '');
      await expect(card.getAttribute('data-status'), row.key).resolves.toBe(row.status ?? '');
    }
    const goal = await page.locator('article[data-target-key="ns-gdp-4000"]').innerText();
    expect(goal).toContain('3283.75 亿元');
    expect(goal).toContain('4000 亿元');
    expect(goal).toContain('82.09%');
    expect(goal).toContain('未达成');
  });

  it('draws GDP per district and the two combined by year, with the 4000 亿元 line', async () => {
    const option = await chartOption('chart-gdp');
    const years = option.xAxis[0]!.data;
    expect(years).toEqual(['2021', '2022', '2023', '2024', '2025']);
    const { rows } = await db.pool.query(
      "SELECT district, period, value::text FROM agg.series WHERE indicator = 'gdp' AND measure = 'level' AND accumulation = 'period' AND district IN ('baoshan', 'jinshan') ORDER BY period",
    );
    for (const district of ['baoshan', 'jinshan']) {
      const expected = years.map((y) => Number(rows.find((r) => r.district === district && r.period === y)?.value));
      expect(values(option.series.find((s) => s.id === district)), district).toEqual(expected);
    }
    const combined = option.series.find((s) => s.id === 'combined')!;
    expect(values(combined).at(-1)).toBe(3283.75);
    expect(combined.markLine?.data[0]?.yAxis).toBe(4000);
    expect(await page.locator('#table-gdp tr[data-year="2025"] td[data-combined]').getAttribute('data-combined')).toBe('3283.75');
    expect(await page.locator('#chart-gdp canvas').count()).toBeGreaterThan(0);
  });

  it('draws the industrial-output increment share against 20%, ending on the snapshot value', async () => {
    const option = await chartOption('chart-share');
    const { rows } = await db.pool.query("SELECT actual_value::text, actual_period, target_value::text FROM agg.latest_progress WHERE target_key = 'ns-industrial-increment-share-20'");
    const share = option.series.find((s) => s.id === 'share')!;
    expect(option.xAxis[0]!.data.at(-1)).toBe(rows[0].actual_period);
    expect(values(share).at(-1)).toBe(Number(rows[0].actual_value));
    expect(share.markLine?.data[0]?.yAxis).toBe(Number(rows[0].target_value));
  });

  it('draws the monthly year-to-date series of the chosen indicator', async () => {
    const check = async (indicator: string) => {
      const option = await chartOption('chart-ytd');
      const periods = option.xAxis[0]!.data;
      const { rows } = await db.pool.query(
        "SELECT district, period, value::text FROM agg.series WHERE indicator = $1 AND measure = 'level' AND accumulation = 'ytd' AND district = 'baoshan'",
        [indicator],
      );
      expect(rows.length, indicator).toBeGreaterThan(0);
      const byPeriod = new Map(rows.map((r) => [r.period, Number(r.value)]));
      expect(values(option.series.find((s) => s.id === 'baoshan')), indicator).toEqual(periods.map((p) => byPeriod.get(p) ?? null));
      expect(periods.filter((p) => byPeriod.has(p))).toHaveLength(rows.length);
    };
    expect(await page.locator('#ytd-indicator').inputValue()).toBe('industrial_output');
    await check('industrial_output');
    await page.selectOption('#ytd-indicator', 'retail_sales');
    await check('retail_sales');
  });

  it('lists the latest news per district, and by industry', async () => {
    const { rows } = await db.pool.query(
      "SELECT id FROM core.news_item WHERE 'jinshan' = ANY(districts) ORDER BY published_at DESC NULLS LAST, id DESC LIMIT 8",
    );
    const shown = await page.locator('#news-lists [data-district="jinshan"] li').evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-news-id'))));
    expect(shown).toEqual(rows.map((r) => r.id));
    await page.selectOption('#news-industry', 'biomedicine');
    const { rows: bio } = await db.pool.query("SELECT id FROM core.news_item WHERE 'baoshan' = ANY(districts) AND 'biomedicine' = ANY(industries) ORDER BY published_at DESC NULLS LAST, id DESC LIMIT 8");
    const filtered = await page.locator('#news-lists [data-district="baoshan"] li').evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-news-id'))));
    expect(filtered).toEqual(bio.map((r) => r.id));
    await page.selectOption('#news-industry', '');
  });

  it('links every figure to its archived source and the publisher URL, and a link resolves to the figure', async () => {
    const links = await page.locator('a.src').evaluateAll((anchors) =>
      anchors.map((a) => ({ href: a.getAttribute('href') ?? '', url: a.getAttribute('data-source-url') ?? '', next: a.nextElementSibling?.getAttribute('href') ?? '' })),
    );
    expect(links.length).toBeGreaterThan(50);
    for (const link of links) {
      expect(link.href).toMatch(/^\/api\/documents\/\d+$/);
      expect(link.url).toMatch(/^https:\/\/[a-z0-9.-]+\.gov\.cn\//);
      expect(link.next).toBe(link.url);
    }
    for (const href of new Set(links.map((l) => l.href))) {
      expect((await page.request.get(`${base}${href}`)).status(), href).toBe(200);
    }

    const figure = page.locator('#table-gdp tr[data-year="2025"] td[data-district="baoshan"] a.src');
    expect(await figure.getAttribute('data-figure')).toBe('1987.45');
    const [archived] = await Promise.all([page.context().waitForEvent('page'), figure.click()]);
    await archived.waitForLoadState();
    expect(archived.url()).toMatch(new RegExp(`^${base}/api/documents/\\d+$`));
    expect((await page.request.get(archived.url())).status()).toBe(200);
    expect(await archived.content()).toContain('1,987.45');
    await archived.close();
  });

  it('switches every label between Chinese and English', async () => {
    await page.click('#lang-en');
    expect(await page.locator('h1').innerText()).toContain('North–South Transformation');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect((await chartOption('chart-gdp')).series.find((s) => s.id === 'baoshan')?.name).toBe('Baoshan');
    expect(await page.locator('article[data-target-key="ns-gdp-4000"]').innerText()).toContain('Missed');
    await page.click('#lang-zh');
    expect(await page.locator('h1').innerText()).toContain('南北转型发展');
    expect((await chartOption('chart-gdp')).series.find((s) => s.id === 'baoshan')?.name).toBe('宝山');
  });

  it('saves a screenshot, with no error on the page', async () => {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = await readFile(SCREENSHOT);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(50_000);
    expect(problems).toEqual([]);
  });
});
