/**
 * The fixture corpus against its ground truth, every page parsed as the normalizer would parse it
 * after an offline fetch (the registry's format, district and language, the publisher's
 * Content-Type):
 *
 * - every stats-table page (HTML and XLSX) and bulletin of seeds/fixtures/figures.yaml yields
 *   exactly the figures listed for it — none missing, none changed, none invented — and one
 *   `unknown_indicator` reject for each of its `unmatched` labels;
 * - every news article of seeds/fixtures/news.yaml yields its news item (title, time, districts,
 *   industries, areas), exactly its actual figures as `news` observations and its goals as target
 *   mentions; a figure of both districts together is rejected, never stored as one district's.
 */
import { readFileSync } from 'node:fs';
import { SEEDS_DIR, loadSeeds, type Source } from '@nst/shared/seeds';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IndicatorCatalog } from '../indicators';
import type { ParseInput } from '../records';
import type { NewsItemRecord, TargetMentionRecord } from '../records';
import { figuresOf, loadTestCatalog, rejectsOf, type Figure } from '../testing';
import { parseDocument } from './index';

interface FigureEntry {
  page: string;
  district: Figure['district'];
  indicator: string;
  measure: Figure['measure'];
  accumulation: Figure['accumulation'];
  period: string;
  value: string;
  unit: Figure['unit'];
  unit_mult: number;
  status: Figure['status'];
  basis?: Figure['basis'];
}

const FIXTURES = `${SEEDS_DIR}/fixtures`;
const truth = parseYaml(readFileSync(`${FIXTURES}/figures.yaml`, 'utf8')) as { figures: FigureEntry[]; unmatched?: Array<{ page: string; label: string }> };
const publisher = parseYaml(readFileSync(`${FIXTURES}/publisher.yaml`, 'utf8')) as { overrides?: Array<{ path: string; contentType?: string }> };
const pages = [...new Set(truth.figures.map((entry) => entry.page))].sort();

let catalog: IndicatorCatalog;
let sources: Source[];
beforeAll(async () => {
  catalog = await loadTestCatalog();
  sources = (await loadSeeds()).sources;
});

/** The registry source whose discovery pattern claims the page, as the fetcher would file it. */
function sourceOf(page: string): Source {
  const url = new URL(`https://${page}`);
  const source = sources.find((s) => new URL(s.url).host === url.host && s.discovery.links !== undefined && new RegExp(s.discovery.links).test(url.pathname));
  if (!source) throw new Error(`no source in seeds/sources.yaml claims ${page}`);
  return source;
}

/** The Content-Type the offline publisher serves the page with. */
function contentTypeOf(page: string): string {
  const override = publisher.overrides?.find((entry) => entry.path === page)?.contentType;
  if (override) return override;
  return page.endsWith('.xlsx') ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/html; charset=utf-8';
}

function expectedFigure(entry: FigureEntry): Figure {
  return {
    district: entry.district, indicator: entry.indicator, measure: entry.measure, accumulation: entry.accumulation, period: entry.period,
    value: entry.value, unit: entry.unit, unitMult: entry.unit_mult, status: entry.status, basis: entry.basis ?? 'unknown',
  };
}

type Keyed = Pick<Figure, 'district' | 'indicator' | 'measure' | 'accumulation' | 'period'>;
const key = (f: Keyed) => `${f.district} ${f.indicator} ${f.measure} ${f.accumulation} ${f.period}`;
const byKey = (a: Keyed, b: Keyed) => key(a).localeCompare(key(b));

describe('the fixture corpus (seeds/fixtures/figures.yaml)', () => {
  it('lists stats-table, XLSX and bulletin pages', () => {
    expect(pages.length).toBeGreaterThan(50);
    expect(pages.some((page) => page.endsWith('.xlsx'))).toBe(true);
  });

  it.each(pages)('%s', async (page) => {
    const source = sourceOf(page);
    const input: ParseInput = {
      bytes: readFileSync(`${FIXTURES}/sites/${page}`),
      contentType: contentTypeOf(page),
      url: `https://${page}`,
      format: page.endsWith('.xlsx') ? 'xls' : source.format,
      lang: source.lang,
      ...(source.district ? { district: source.district } : {}),
    };
    const { records } = await parseDocument(input, catalog);
    const expected = truth.figures.filter((entry) => entry.page === page).map(expectedFigure).sort(byKey);
    expect(figuresOf(records).sort(byKey)).toEqual(expected);

    const labels = (truth.unmatched ?? []).filter((entry) => entry.page === page).map((entry) => entry.label).sort();
    const unknown = rejectsOf(records).filter((reject) => reject.reason === 'unknown_indicator');
    expect(unknown.map((reject) => labels.find((label) => reject.locator.includes(`"${label}`)) ?? reject.locator).sort()).toEqual(labels);
    // Nothing else is rejected on a well-formed page.
    expect(rejectsOf(records).filter((reject) => reject.reason !== 'unknown_indicator')).toEqual([]);
  });
});

interface NewsArticle {
  page: string;
  source: string;
  title: string;
  lang: 'zh' | 'en';
  published_at: string;
  districts: string[];
  industries: string[];
  areas: string[];
  observations: Array<Omit<FigureEntry, 'page' | 'basis'>>;
  target_mentions: Array<{ scope: string; indicator?: string; value?: string; unit?: string; unit_mult?: number; target_year?: number }>;
}

const news = parseYaml(readFileSync(`${FIXTURES}/news.yaml`, 'utf8')) as { articles: NewsArticle[] };

describe('the news corpus (seeds/fixtures/news.yaml)', () => {
  it.each(news.articles.map((article) => [article.page, article] as const))('%s', async (page, article) => {
    const source = sources.find((s) => s.key === article.source);
    if (!source) throw new Error(`unknown source ${article.source}`);
    const { records } = await parseDocument(
      { bytes: readFileSync(`${FIXTURES}/sites/${page}`), contentType: contentTypeOf(page), url: `https://${page}`, format: 'news-article', lang: source.lang, ...(source.district ? { district: source.district } : {}) },
      catalog,
    );
    const item = records.find((record): record is NewsItemRecord => record.kind === 'news_item');
    expect(item).toMatchObject({ title: article.title, lang: article.lang, publishedAt: article.published_at });
    expect([...(item?.districts ?? [])].sort()).toEqual([...article.districts].sort());
    expect([...(item?.industries ?? [])].sort()).toEqual([...article.industries].sort());
    expect([...(item?.areas ?? [])].sort()).toEqual([...article.areas].sort());

    // Basis is not part of the news truth: compare everything else.
    const observed = figuresOf(records).map(({ basis: _basis, ...rest }) => rest).sort(byKey);
    const expected = article.observations
      .map((o) => ({ district: o.district, indicator: o.indicator, measure: o.measure, accumulation: o.accumulation, period: o.period, value: o.value, unit: o.unit, unitMult: o.unit_mult, status: o.status }))
      .sort(byKey);
    expect(observed).toEqual(expected);

    const mentions = records
      .filter((record): record is TargetMentionRecord => record.kind === 'target_mention')
      .map((m) => ({ scope: m.scope, indicator: m.indicator, value: m.value, unit: m.unit, unitMult: m.unitMult, targetYear: m.targetYear }));
    const goals = article.target_mentions.map((t) => ({ scope: t.scope, indicator: t.indicator, value: t.value, unit: t.unit, unitMult: t.unit_mult, targetYear: t.target_year }));
    expect(mentions).toEqual(goals);

    for (const reject of rejectsOf(records)) {
      expect(reject).toMatchObject({ reason: 'unknown_district', detail: 'a figure of both districts together is not a district observation' });
    }
  });
});
