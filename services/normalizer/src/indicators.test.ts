import { beforeAll, describe, expect, it } from 'vitest';
import { indicatorFrequency, normalizeLabel, normalizeText, type IndicatorCatalog } from './indicators';
import { loadTestCatalog } from './testing';

let catalog: IndicatorCatalog;
beforeAll(async () => {
  catalog = await loadTestCatalog();
});

describe('normalizeLabel', () => {
  it.each([
    ['  #战略性新兴产业产值', '战略性新兴产业产值'],
    ['＃生物医药产业产值', '生物医药产业产值'],
    ['其中：新材料产业产值', '新材料产业产值'],
    ['一、规模以上工业总产值（亿元）', '规模以上工业总产值'],
    ['规 模 以 上 工 业 总 产 值', '规模以上工业总产值'],
    ['地区生产总值(GDP)', '地区生产总值'],
    ['  Gross Regional Product ', 'gross regional product'],
  ])('%j → %j', (label, normal) => {
    expect(normalizeLabel(label)).toBe(normal);
  });
});

describe('IndicatorCatalog.matchLabel', () => {
  it.each([
    ['规模以上工业总产值', 'industrial_output'],
    ['规上工业总产值', 'industrial_output'],
    ['全区规模以上工业总产值', 'industrial_output'],
    ['  #战略性新兴产业产值（亿元）', 'strategic_emerging_output'],
    ['一般公共预算收入', 'budget_revenue'],
    ['区级一般公共预算收入', 'budget_revenue_district'],
    ['地方一般公共预算收入', 'budget_revenue_district'],
    ['区地方一般公共预算收入', 'budget_revenue_district'],
    ['全社会固定资产投资', 'fixed_asset_investment'],
    ['GDP', 'gdp'],
  ])('%j → %s', (label, code) => {
    expect(catalog.matchLabel(label)?.code).toBe(code);
  });

  it('never reads a qualified statistic as the catalog one it contains', () => {
    expect(catalog.matchLabel('工业固定资产投资')).toBeUndefined();
    expect(catalog.matchLabel('#工业投资')).toBeUndefined();
    expect(catalog.matchLabel('商品房销售面积')).toBeUndefined();
  });
});

describe('IndicatorCatalog.findAliases', () => {
  it('lets the longest alias win where two overlap', () => {
    const hits = catalog.findAliases(normalizeText('区级一般公共预算收入突破160亿元，一般公共预算收入420亿元'));
    expect(hits.map((hit) => hit.indicator.code)).toEqual(['budget_revenue_district', 'budget_revenue']);
  });

  it('matches English aliases on word boundaries only', () => {
    expect(catalog.findAliases(normalizeText("Baoshan's GDP reached")).map((hit) => hit.indicator.code)).toEqual(['gdp']);
    expect(catalog.findAliases(normalizeText('GDPR compliance'))).toEqual([]);
  });
});

describe('indicatorFrequency', () => {
  it('knows GDP and value added are quarterly statistics', () => {
    expect(indicatorFrequency('gdp')).toBe('quarterly');
    expect(indicatorFrequency('secondary_industry_va')).toBe('quarterly');
    expect(indicatorFrequency('industrial_output')).toBe('monthly');
  });
});
