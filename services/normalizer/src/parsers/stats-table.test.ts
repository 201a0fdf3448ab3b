import { beforeAll, describe, expect, it } from 'vitest';
import type { IndicatorCatalog } from '../indicators';
import type { ParseInput } from '../records';
import { figure, figureIn, figuresOf, loadTestCatalog, readCase, rejectsOf } from '../testing';
import { parseDocument } from './index';

let catalog: IndicatorCatalog;
beforeAll(async () => {
  catalog = await loadTestCatalog();
});

const parseCase = (name: string, input: Partial<ParseInput> = {}) =>
  parseDocument({ bytes: readCase(name), format: 'stats-table', url: name, ...input }, catalog);

describe('stats-table: two-level merged headers (Baoshan layout)', () => {
  it('reads every figure under the right column, skipping "—", "…" and blank cells', async () => {
    const { records, title, publishedAt } = await parseCase('stats-table-two-level-headers.html', { district: 'baoshan' });
    expect(title).toBe('2025年1-10月宝山区主要经济指标');
    expect(publishedAt).toBe('2025-11-20T16:30:00+08:00');
    const b = figureIn('baoshan');
    expect(figuresOf(records)).toEqual([
      b('industrial_output', 'level', 'period', '2025-10', '318.62', 'CNY', 8),
      b('industrial_output', 'yoy_pct', 'period', '2025-10', '-2.4', 'pct', 0),
      b('industrial_output', 'level', 'ytd', '2025-10', '2987.15', 'CNY', 8),
      b('industrial_output', 'yoy_pct', 'ytd', '2025-10', '1.8', 'pct', 0),
      // "#" sub-row with full-width digits; its month cells are "—".
      b('strategic_emerging_output', 'level', 'ytd', '2025-10', '1025.30', 'CNY', 8),
      b('strategic_emerging_output', 'yoy_pct', 'ytd', '2025-10', '6.5', 'pct', 0),
      // "其中：" sub-row; the full-width minus sign.
      b('new_materials_output', 'level', 'ytd', '2025-10', '612.40', 'CNY', 8),
      b('new_materials_output', 'yoy_pct', 'ytd', '2025-10', '-0.7', 'pct', 0),
      b('fixed_asset_investment', 'level', 'ytd', '2025-10', '455.21', 'CNY', 8),
      b('fixed_asset_investment', 'yoy_pct', 'ytd', '2025-10', '8.9', 'pct', 0),
      b('retail_sales', 'level', 'period', '2025-10', '68.40', 'CNY', 8),
      b('retail_sales', 'yoy_pct', 'period', '2025-10', '3.1', 'pct', 0),
      b('retail_sales', 'level', 'ytd', '2025-10', '653.78', 'CNY', 8),
      b('retail_sales', 'yoy_pct', 'ytd', '2025-10', '2.6', 'pct', 0),
      // 万元 in the unit column: kept at the published scale, unitMult 4.
      b('budget_revenue', 'level', 'period', '2025-10', '285431', 'CNY', 4),
      b('budget_revenue', 'yoy_pct', 'period', '2025-10', '-6.3', 'pct', 0),
      b('budget_revenue', 'level', 'ytd', '2025-10', '3402817', 'CNY', 4),
      b('budget_revenue', 'yoy_pct', 'ytd', '2025-10', '1.2', 'pct', 0),
      // A different indicator from 一般公共预算收入.
      b('budget_revenue_district', 'level', 'period', '2025-10', '121903', 'CNY', 4),
      b('budget_revenue_district', 'yoy_pct', 'period', '2025-10', '-4.0', 'pct', 0),
      b('budget_revenue_district', 'level', 'ytd', '2025-10', '1386520', 'CNY', 4),
      b('budget_revenue_district', 'yoy_pct', 'ytd', '2025-10', '0.5', 'pct', 0),
    ]);
  });

  it('keeps the printed string and says where the figure was', async () => {
    const { records } = await parseCase('stats-table-two-level-headers.html', { district: 'baoshan' });
    expect(records).toContainEqual({
      kind: 'observation', district: 'baoshan', indicator: 'strategic_emerging_output', measure: 'level', accumulation: 'ytd',
      period: '2025-10', value: '1025.30', unit: 'CNY', unitMult: 8, status: 'final', basis: 'unknown',
      rawValue: '１，０２５．３０', locator: 'table[0] row "#战略性新兴产业产值" col "1-10月 / 绝对值"',
    });
    expect(records).toContainEqual(expect.objectContaining({ indicator: 'industrial_output', measure: 'yoy_pct', period: '2025-10', accumulation: 'period', rawValue: '−2.4' }));
  });

  it('turns an unmatched row into one unknown_indicator reject, and category rows into nothing', async () => {
    const { records } = await parseCase('stats-table-two-level-headers.html', { district: 'baoshan' });
    expect(rejectsOf(records)).toEqual([
      { kind: 'reject', reason: 'unknown_indicator', detail: 'no catalog indicator matches "#工业投资"', locator: 'table[0] row "#工业投资"', raw: ['#工业投资', '亿元', '—', '—', '120.33', '15.2'] },
    ]);
  });

  it('takes the district from the page when the source has none', async () => {
    const { records } = await parseCase('stats-table-two-level-headers.html');
    expect(new Set(figuresOf(records).map((f) => f.district))).toEqual(new Set(['baoshan']));
  });
});

describe('stats-table: unit in the title, 本月 / 1-9月 / 累计增长 columns (city layout)', () => {
  it('reads the unit from "单位：亿元" and the report month from the title', async () => {
    const { records } = await parseCase('stats-table-unit-in-title.html', { district: 'shanghai' });
    const s = figureIn('shanghai');
    expect(figuresOf(records)).toEqual([
      s('industrial_output', 'level', 'period', '2025-09', '3215.8', 'CNY', 8),
      s('industrial_output', 'level', 'ytd', '2025-09', '28901.4', 'CNY', 8),
      s('industrial_output', 'yoy_pct', 'ytd', '2025-09', '3.5', 'pct', 0),
      s('retail_sales', 'level', 'period', '2025-09', '1402.6', 'CNY', 8),
      s('retail_sales', 'level', 'ytd', '2025-09', '12330.7', 'CNY', 8),
      s('retail_sales', 'yoy_pct', 'ytd', '2025-09', '-1.1', 'pct', 0),
      // 全市固定资产投资: the scope word is not part of the indicator.
      s('fixed_asset_investment', 'yoy_pct', 'ytd', '2025-09', '7.9', 'pct', 0),
    ]);
    expect(rejectsOf(records).map((r) => [r.reason, r.locator])).toEqual([['unknown_indicator', 'table[0] row "商品房销售面积（万平方米）"']]);
  });

  it('reads a wrapped table\'s title above its wrapper, and stops title and notes at a block holding a table', async () => {
    const { records } = await parseCase('stats-table-wrapped.html', { district: 'jinshan' });
    const j = figureIn('jinshan');
    expect(figuresOf(records)).toEqual([
      // The first table opens its wrapper: heading and unit line above the wrapper; the note inside it.
      j('gdp', 'level', 'ytd', '2025-H1', '620.15', 'CNY', 8),
      j('gdp', 'yoy_pct', 'ytd', '2025-H1', '3.1', 'pct', 0, 'final', 'comparable'),
      j('industrial_output', 'level', 'ytd', '2025-06', '1050.40', 'CNY', 8),
      j('industrial_output', 'yoy_pct', 'ytd', '2025-06', '-1.2', 'pct', 0),
      // The second table's title is its own paragraph (万元), not the wrapper before it (亿元 in its
      // note); its notes end at the share box holding a table, so the 可比价格 note after that is not its.
      j('retail_sales', 'level', 'ytd', '2025-06', '2101300', 'CNY', 4),
      j('retail_sales', 'yoy_pct', 'ytd', '2025-06', '2.5', 'pct', 0),
    ]);
  });
});

describe('stats-table: 1-2月 published together, bad cells', () => {
  it('keeps 1-2月 as ytd February and rejects NaN, ∞ and 1.2.3 without inventing a number', async () => {
    const { records } = await parseCase('stats-table-1-2-months.html', { district: 'jinshan' });
    const j = figureIn('jinshan');
    expect(figuresOf(records)).toEqual([
      j('industrial_output', 'level', 'ytd', '2025-02', '289.73', 'CNY', 8),
      j('industrial_output', 'yoy_pct', 'ytd', '2025-02', '-3.6', 'pct', 0),
      j('retail_sales', 'level', 'ytd', '2025-02', '72.05', 'CNY', 8),
      j('retail_sales', 'yoy_pct', 'ytd', '2025-02', '2.2', 'pct', 0),
      j('budget_revenue_district', 'level', 'ytd', '2025-02', '25.61', 'CNY', 8),
    ]);
    expect(rejectsOf(records).map((r) => [r.reason, r.raw])).toEqual([
      ['unparseable_number', 'NaN'],
      ['unparseable_number', '1.2.3'],
      ['unparseable_number', '∞'],
    ]);
  });
});

describe('stats-table: GDP, a quarterly statistic, with its basis in a note', () => {
  it('codes 1-9月 GDP as Q3 ytd, provisional (初步核算), growth at comparable prices', async () => {
    const { records } = await parseCase('stats-table-gdp-quarterly.html');
    const b = figureIn('baoshan');
    expect(figuresOf(records)).toEqual([
      b('gdp', 'level', 'ytd', '2025-Q3', '1312.47', 'CNY', 8, 'provisional'),
      b('gdp', 'yoy_pct', 'ytd', '2025-Q3', '4.6', 'pct', 0, 'provisional', 'comparable'),
      b('secondary_industry_va', 'level', 'ytd', '2025-Q3', '497.20', 'CNY', 8, 'provisional'),
      b('secondary_industry_va', 'yoy_pct', 'ytd', '2025-Q3', '3.9', 'pct', 0, 'provisional', 'comparable'),
      b('tertiary_industry_va', 'level', 'ytd', '2025-Q3', '813.88', 'CNY', 8, 'provisional'),
      b('tertiary_industry_va', 'yoy_pct', 'ytd', '2025-Q3', '5.1', 'pct', 0, 'provisional', 'comparable'),
    ]);
    expect(rejectsOf(records).map((r) => r.locator)).toEqual(['table[0] row "#金融业增加值"']);
  });
});

describe('stats-table: a GBK page (Jinshan layout)', () => {
  it('decodes GB2312-labelled bytes and reads 数值 / 同比增长% under 6月 and 1-6月累计', async () => {
    const { records, title } = await parseCase('stats-table-gbk-jinshan.html', { district: 'jinshan', contentType: 'text/html' });
    expect(title).toBe('金山区2025年1-6月主要经济指标');
    const j = figureIn('jinshan');
    expect(figuresOf(records)).toEqual([
      // The note says industrial output growth is at comparable prices.
      j('industrial_output', 'level', 'period', '2025-06', '176.34', 'CNY', 8),
      j('industrial_output', 'yoy_pct', 'period', '2025-06', '5.2', 'pct', 0, 'final', 'comparable'),
      j('industrial_output', 'level', 'ytd', '2025-06', '1018.92', 'CNY', 8),
      j('industrial_output', 'yoy_pct', 'ytd', '2025-06', '4.4', 'pct', 0, 'final', 'comparable'),
      j('new_gen_it_output', 'level', 'period', '2025-06', '12.07', 'CNY', 8),
      j('new_gen_it_output', 'yoy_pct', 'period', '2025-06', '11.6', 'pct', 0),
      j('new_gen_it_output', 'level', 'ytd', '2025-06', '70.15', 'CNY', 8),
      j('new_gen_it_output', 'yoy_pct', 'ytd', '2025-06', '9.8', 'pct', 0),
      j('biomedicine_output', 'level', 'period', '2025-06', '21.83', 'CNY', 8),
      j('biomedicine_output', 'yoy_pct', 'period', '2025-06', '-1.5', 'pct', 0),
      j('biomedicine_output', 'level', 'ytd', '2025-06', '129.40', 'CNY', 8),
      j('biomedicine_output', 'yoy_pct', 'ytd', '2025-06', '0.3', 'pct', 0),
      j('budget_revenue_district', 'level', 'period', '2025-06', '6.02', 'CNY', 8),
      j('budget_revenue_district', 'yoy_pct', 'period', '2025-06', '-12.7', 'pct', 0),
      j('budget_revenue_district', 'level', 'ytd', '2025-06', '60.55', 'CNY', 8),
      j('budget_revenue_district', 'yoy_pct', 'ytd', '2025-06', '-3.3', 'pct', 0),
    ]);
    expect(rejectsOf(records).map((r) => [r.reason, r.locator])).toEqual([['unknown_indicator', 'table[0] row "外贸进出口总额"']]);
  });
});

describe('stats-table: bad input', () => {
  it('ends a table with no numbers as one no_records reject', async () => {
    const { records } = await parseCase('stats-table-no-numbers.html', { district: 'baoshan' });
    expect(records).toEqual([{ kind: 'reject', reason: 'no_records', detail: "none of the page's 1 table(s) holds a figure", locator: 'stats-table-no-numbers.html' }]);
  });

  it('keeps the whole rows of a truncated page and never reads the cut-off last row', async () => {
    const { records } = await parseCase('stats-table-truncated.html', { district: 'jinshan' });
    expect(figuresOf(records)).toEqual([
      figure('jinshan', 'industrial_output', 'level', 'ytd', '2025-08', '1203.5', 'CNY', 8),
      figure('jinshan', 'industrial_output', 'yoy_pct', 'ytd', '2025-08', '2.7', 'pct', 0),
    ]);
    expect(rejectsOf(records)).toEqual([
      { kind: 'reject', reason: 'unreadable_document', detail: 'the document ends inside table[0]; its last row is not read', locator: 'table[0] row "社会消费品零售总额"' },
    ]);
  });
});

describe('stats-table: the city bureau\'s table of districts (rows are districts, columns indicators)', () => {
  it('gives each row its district, skips other districts, rejects an unknown column once', async () => {
    const { records } = await parseCase('stats-table-districts.html', { district: 'shanghai' });
    expect(figuresOf(records)).toEqual([
      figure('shanghai', 'industrial_output', 'level', 'ytd', '2025-09', '28901.4', 'CNY', 8),
      figure('shanghai', 'industrial_output', 'yoy_pct', 'ytd', '2025-09', '3.5', 'pct', 0),
      figure('shanghai', 'retail_sales', 'level', 'ytd', '2025-09', '12330.7', 'CNY', 8),
      figure('shanghai', 'retail_sales', 'yoy_pct', 'ytd', '2025-09', '-1.1', 'pct', 0),
      figure('baoshan', 'industrial_output', 'level', 'ytd', '2025-09', '2651.08', 'CNY', 8),
      figure('baoshan', 'industrial_output', 'yoy_pct', 'ytd', '2025-09', '1.2', 'pct', 0),
      figure('baoshan', 'retail_sales', 'level', 'ytd', '2025-09', '590.66', 'CNY', 8),
      figure('baoshan', 'retail_sales', 'yoy_pct', 'ytd', '2025-09', '2.3', 'pct', 0),
      figure('jinshan', 'industrial_output', 'level', 'ytd', '2025-09', '1540.72', 'CNY', 8),
      figure('jinshan', 'industrial_output', 'yoy_pct', 'ytd', '2025-09', '-0.9', 'pct', 0),
    ]);
    expect(rejectsOf(records)).toEqual([
      { kind: 'reject', reason: 'unknown_indicator', detail: 'no catalog indicator matches the column "商品房销售面积"', locator: 'table[0] col "商品房销售面积 / 1-9月（万平方米）"', raw: ['商品房销售面积', '1-9月（万平方米）'] },
    ]);
    expect(records).toContainEqual(expect.objectContaining({ district: 'baoshan', indicator: 'retail_sales', measure: 'level', locator: 'table[0] row "宝山区" col "社会消费品零售总额 / 1-9月（亿元）"' }));
  });
});

describe('stats-table: a table whose body contradicts its header', () => {
  const page = (rows: string) => Buffer.from(`<html><head><meta charset="utf-8"><title>2025年1-10月宝山区主要经济指标</title></head><body>
<table><tr><th>指标</th><th>计量单位</th><th>1-10月</th><th>比上年同期增长（%）</th></tr>${rows}</table></body></html>`);

  it('rejects the whole table as ambiguous_column when figures sit under 计量单位 and units under the period', async () => {
    const bytes = page('<tr><td>规模以上工业总产值</td><td>2987.15</td><td>亿元</td><td>1.8</td></tr><tr><td>社会消费品零售总额</td><td>1210.44</td><td>亿元</td><td>-0.7</td></tr>');
    const { records } = await parseDocument({ bytes, format: 'stats-table', url: 'swapped.html', district: 'baoshan' }, catalog);
    expect(figuresOf(records)).toEqual([]);
    expect(rejectsOf(records)).toEqual([expect.objectContaining({ reason: 'ambiguous_column', detail: expect.stringMatching(/column "计量单位" holds figures \(2987\.15, 1210\.44\)/) })]);
  });

  it('reads the same table with the columns where the header says they are', async () => {
    const bytes = page('<tr><td>规模以上工业总产值</td><td>亿元</td><td>2987.15</td><td>1.8</td></tr>');
    const { records } = await parseDocument({ bytes, format: 'stats-table', url: 'ok.html', district: 'baoshan' }, catalog);
    expect(figuresOf(records).map((f) => f.value)).toEqual(['2987.15', '1.8']);
  });
});

describe('stats-table: markup nested past the bound', () => {
  it('is refused before parsing, at once, as unreadable_document', async () => {
    const deep = `<html><body>${'<div>'.repeat(100_000)}<table><tr><td>规模以上工业总产值</td><td>亿元</td><td>1.0</td></tr></table>${'</div>'.repeat(100_000)}</body></html>`;
    const started = performance.now();
    await expect(parseDocument({ bytes: Buffer.from(deep), format: 'stats-table', url: 'deep.html', district: 'baoshan' }, catalog)).rejects.toMatchObject({
      code: 'unreadable_document',
      message: expect.stringMatching(/nests elements 10000\d deep \(at most \d+ are read\)/),
    });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
