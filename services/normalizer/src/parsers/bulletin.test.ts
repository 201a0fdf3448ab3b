import { beforeAll, describe, expect, it } from 'vitest';
import type { IndicatorCatalog } from '../indicators';
import { figureIn, figuresOf, loadTestCatalog, readCase, rejectsOf } from '../testing';
import { parseDocument } from './index';

let catalog: IndicatorCatalog;
beforeAll(async () => {
  catalog = await loadTestCatalog();
});

describe('bulletin: an annual statistical bulletin (Baoshan 2024)', () => {
  it('reads levels, signed growth, basis, status, 其中 components and shares', async () => {
    const { records, title } = await parseDocument({ bytes: readCase('bulletin-baoshan-2024.html'), format: 'bulletin', district: 'baoshan' }, catalog);
    expect(title).toBe('上海市宝山区2024年国民经济和社会发展统计公报');
    const b = figureIn('baoshan');
    expect(figuresOf(records)).toEqual([
      // 经初步核算 → provisional; 按可比价格计算 → comparable.
      b('gdp', 'level', 'period', '2024', '1802.35', 'CNY', 8, 'provisional'),
      b('gdp', 'yoy_pct', 'period', '2024', '5.1', 'pct', 0, 'provisional', 'comparable'),
      // 其中 components inherit the accounting statement of their paragraph.
      b('secondary_industry_va', 'level', 'period', '2024', '652.10', 'CNY', 8, 'provisional'),
      b('secondary_industry_va', 'yoy_pct', 'period', '2024', '3.4', 'pct', 0, 'provisional', 'comparable'),
      b('tertiary_industry_va', 'level', 'period', '2024', '1147.02', 'CNY', 8, 'provisional'),
      b('tertiary_industry_va', 'yoy_pct', 'period', '2024', '6.0', 'pct', 0, 'provisional', 'comparable'),
      b('tertiary_industry_va', 'share_pct', 'period', '2024', '63.6', 'pct', 0, 'provisional'),
      // 个百分点: percentage points, not percent.
      b('tertiary_industry_va', 'pp_change', 'period', '2024', '0.8', 'pp', 0, 'provisional'),
      // 约 → estimated; the denominator after 占 is not a subject.
      b('strategic_emerging_output', 'level', 'period', '2024', '1150', 'CNY', 8, 'estimated'),
      b('strategic_emerging_output', 'share_pct', 'period', '2024', '33.4', 'pct', 0),
      // 下降 gives the sign.
      b('industrial_output', 'level', 'period', '2024', '3441.76', 'CNY', 8),
      b('industrial_output', 'yoy_pct', 'period', '2024', '-2.3', 'pct', 0),
      b('new_materials_output', 'level', 'period', '2024', '1210.55', 'CNY', 8),
      b('new_materials_output', 'yoy_pct', 'period', '2024', '1.9', 'pct', 0),
      // 与上年持平: a published zero.
      b('biomedicine_output', 'yoy_pct', 'period', '2024', '0', 'pct', 0),
      // 工业固定资产投资 is not 全社会固定资产投资; the next sentence is.
      b('fixed_asset_investment', 'yoy_pct', 'period', '2024', '8.2', 'pct', 0),
      // 上半年 in the sentence overrides the bulletin's year; 同比 → nominal.
      b('retail_sales', 'level', 'ytd', '2024-06', '412.30', 'CNY', 8),
      b('retail_sales', 'yoy_pct', 'ytd', '2024-06', '2.1', 'pct', 0, 'final', 'nominal'),
      b('budget_revenue', 'level', 'period', '2024', '420.88', 'CNY', 8),
      b('budget_revenue', 'yoy_pct', 'period', '2024', '0.6', 'pct', 0),
      // 突破 → estimated; full-width "１．５％" after 下降.
      b('budget_revenue_district', 'level', 'period', '2024', '160', 'CNY', 8, 'estimated'),
      b('budget_revenue_district', 'yoy_pct', 'period', '2024', '-1.5', 'pct', 0),
    ]);
    expect(rejectsOf(records)).toEqual([]);
  });

  it('locates each figure by paragraph and text span, keeping the printed value', async () => {
    const { records } = await parseDocument({ bytes: readCase('bulletin-baoshan-2024.html'), format: 'bulletin', district: 'baoshan' }, catalog);
    expect(records[0]).toEqual({
      kind: 'observation', district: 'baoshan', indicator: 'gdp', measure: 'level', accumulation: 'period', period: '2024',
      value: '1802.35', unit: 'CNY', unitMult: 8, status: 'provisional', basis: 'unknown',
      rawValue: '1,802.35亿元', locator: 'p[1] "地区生产总值1,802.35亿元"',
    });
  });
});

describe('bulletin: a quarterly economic report (Jinshan, 前三季度)', () => {
  it('takes the period from the title and from the sentences', async () => {
    const { records } = await parseDocument({ bytes: readCase('bulletin-jinshan-q3-report.html'), format: 'bulletin' }, catalog);
    const j = figureIn('jinshan');
    expect(figuresOf(records)).toEqual([
      j('gdp', 'level', 'ytd', '2025-Q3', '932.14', 'CNY', 8),
      j('gdp', 'yoy_pct', 'ytd', '2025-Q3', '4.8', 'pct', 0, 'final', 'comparable'),
      // A monthly indicator's 1-9月 is September ytd; "下降−1.2%" is not a double negative.
      j('industrial_output', 'level', 'ytd', '2025-09', '1577.20', 'CNY', 8),
      j('industrial_output', 'yoy_pct', 'ytd', '2025-09', '-1.2', 'pct', 0, 'final', 'nominal'),
      j('industrial_output', 'level', 'period', '2025-09', '182.65', 'CNY', 8),
      j('industrial_output', 'yoy_pct', 'period', '2025-09', '3.0', 'pct', 0, 'final', 'nominal'),
      // No period in the sentence: the report's own (前三季度); 近 → estimated.
      j('retail_sales', 'level', 'ytd', '2025-09', '270', 'CNY', 8, 'estimated'),
      j('retail_sales', 'yoy_pct', 'ytd', '2025-09', '4.4', 'pct', 0),
    ]);
  });
});
