import { describe, expect, it } from 'vitest';
import { findLastPeriodMention, findYear, inferYearFromPublication, readEnglishPeriodSpan, readPeriodSpan, toPeriodRef, type PeriodSpan } from './periods';

const monthly = (label: string, year?: number, reportMonth?: number) => resolve(label, 'monthly', year, reportMonth);
const quarterly = (label: string, year?: number) => resolve(label, 'quarterly', year);

function resolve(label: string, frequency: 'monthly' | 'quarterly', year?: number, reportMonth?: number) {
  const span = readPeriodSpan(label);
  if (!span) return undefined;
  return toPeriodRef(span, { frequency, ...(year ? { year } : {}), ...(reportMonth ? { reportMonth } : {}) });
}

describe('period labels of monthly indicators', () => {
  it.each([
    ['2025年1-10月', '2025-10', 'ytd'],
    ['1-10月', '2025-10', 'ytd'],
    ['1～10月', '2025-10', 'ytd'],
    ['1至10月', '2025-10', 'ytd'],
    ['一至十月', '2025-10', 'ytd'],
    ['10月', '2025-10', 'period'],
    ['10月份', '2025-10', 'period'],
    ['1-2月', '2025-02', 'ytd'],
    ['1-9月', '2025-09', 'ytd'],
    ['前三季度', '2025-09', 'ytd'],
    ['上半年', '2025-06', 'ytd'],
    ['一季度', '2025-03', 'ytd'],
    ['1-12月', '2025-12', 'ytd'],
    ['全年', '2025', 'period'],
    ['2024年', '2024', 'period'],
    ['二季度', '2025-Q2', 'period'],
    ['下半年', '2025-H2', 'period'],
  ])('%s → %s %s', (label, period, accumulation) => {
    expect(monthly(label, 2025)).toEqual({ period, accumulation });
  });

  it('reads 本月 and 累计 against the report month of the table', () => {
    expect(monthly('本月', 2025, 10)).toEqual({ period: '2025-10', accumulation: 'period' });
    expect(monthly('当月', 2025, 10)).toEqual({ period: '2025-10', accumulation: 'period' });
    expect(monthly('本年累计', 2025, 10)).toEqual({ period: '2025-10', accumulation: 'ytd' });
    expect(monthly('累计', 2025)).toBeUndefined();
  });

  it('needs a year', () => {
    expect(monthly('1-10月')).toBeUndefined();
  });
});

describe('period labels of quarterly indicators (GDP, value added)', () => {
  it.each([
    ['1-3月', '2025-Q1', 'ytd'],
    ['一季度', '2025-Q1', 'ytd'],
    ['1-6月', '2025-H1', 'ytd'],
    ['上半年', '2025-H1', 'ytd'],
    ['1-9月', '2025-Q3', 'ytd'],
    ['前三季度', '2025-Q3', 'ytd'],
    ['1-12月', '2025', 'period'],
    ['全年', '2025', 'period'],
  ])('%s → %s %s', (label, period, accumulation) => {
    expect(quarterly(label, 2025)).toEqual({ period, accumulation });
  });
});

describe('findYear', () => {
  it('finds the printed year', () => {
    expect(findYear('上海市宝山区2024年国民经济和社会发展统计公报')).toBe(2024);
    expect(findYear('2025-10')).toBe(2025);
    expect(findYear('规模以上工业总产值3441.76亿元')).toBeUndefined();
  });
});

describe('inferYearFromPublication', () => {
  it('puts a December table published in January in the year before', () => {
    expect(inferYearFromPublication(new Date('2025-01-20T00:00:00Z'), 12)).toBe(2024);
    expect(inferYearFromPublication(new Date('2025-11-20T00:00:00Z'), 10)).toBe(2025);
  });
});

describe('findLastPeriodMention', () => {
  it('takes the last period named before a figure, not a comparison year', () => {
    expect(findLastPeriodMention('上半年，全区')).toEqual<PeriodSpan>({ kind: 'ytd', month: 6 });
    expect(findLastPeriodMention('2024年1-10月，')).toEqual<PeriodSpan>({ kind: 'ytd', month: 10, year: 2024 });
    expect(findLastPeriodMention('比2020年增长，')).toBeUndefined();
    expect(findLastPeriodMention('2024年末常住人口')).toBeUndefined();
    expect(findLastPeriodMention('去年，', 2025)).toEqual<PeriodSpan>({ kind: 'year', year: 2024 });
  });
});

describe('readEnglishPeriodSpan', () => {
  it('reads the English wording of periods', () => {
    expect(readEnglishPeriodSpan('GDP reached 180.2 billion yuan in 2024')).toEqual({ kind: 'year', year: 2024 });
    expect(readEnglishPeriodSpan('in the first three quarters of 2025, output rose')).toEqual({ kind: 'ytd', month: 9, year: 2025 });
    expect(readEnglishPeriodSpan('from January to October 2025')).toEqual({ kind: 'ytd', month: 10, year: 2025 });
    expect(readEnglishPeriodSpan('GDP grew last year', 2025)).toEqual({ kind: 'year', year: 2024 });
    expect(readEnglishPeriodSpan('GDP grew steadily')).toBeUndefined();
  });
});
