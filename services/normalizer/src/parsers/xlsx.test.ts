import { beforeAll, describe, expect, it } from 'vitest';
import { NonRetryableError } from '@nst/shared/errors';
import type { IndicatorCatalog } from '../indicators';
import { figureIn, figuresOf, loadTestCatalog, readCase, rejectsOf } from '../testing';
import { parseDocument } from './index';
import { checkZipBounds, formatNumber, ZIP_LIMITS } from './xlsx';

let catalog: IndicatorCatalog;
beforeAll(async () => {
  catalog = await loadTestCatalog();
});

describe('xls: an XLSX attachment read through the table rules', () => {
  it('reads merged title and headers, 0.00 levels and 0.0% growth exactly as printed', async () => {
    const { records } = await parseDocument({ bytes: readCase('monthly-indicators.xlsx'), format: 'xls', url: 'monthly-indicators.xlsx', district: 'shanghai' }, catalog);
    const s = figureIn('shanghai');
    expect(figuresOf(records)).toEqual([
      s('industrial_output', 'level', 'period', '2025-10', '3301.20', 'CNY', 8),
      s('industrial_output', 'yoy_pct', 'period', '2025-10', '2.1', 'pct', 0),
      s('industrial_output', 'level', 'ytd', '2025-10', '32108.95', 'CNY', 8),
      s('industrial_output', 'yoy_pct', 'ytd', '2025-10', '3.4', 'pct', 0),
      s('strategic_emerging_output', 'level', 'period', '2025-10', '1398.40', 'CNY', 8),
      s('strategic_emerging_output', 'yoy_pct', 'period', '2025-10', '6.7', 'pct', 0),
      s('strategic_emerging_output', 'level', 'ytd', '2025-10', '14020.50', 'CNY', 8),
      s('strategic_emerging_output', 'yoy_pct', 'ytd', '2025-10', '7.1', 'pct', 0),
      s('retail_sales', 'level', 'period', '2025-10', '1452.10', 'CNY', 8),
      s('retail_sales', 'yoy_pct', 'period', '2025-10', '-0.8', 'pct', 0),
      s('retail_sales', 'level', 'ytd', '2025-10', '13811.20', 'CNY', 8),
      s('retail_sales', 'yoy_pct', 'ytd', '2025-10', '-0.2', 'pct', 0),
      s('fixed_asset_investment', 'level', 'ytd', '2025-10', '8120.30', 'CNY', 8),
      s('fixed_asset_investment', 'yoy_pct', 'ytd', '2025-10', '6.1', 'pct', 0),
    ]);
    expect(records).toContainEqual(expect.objectContaining({ indicator: 'retail_sales', measure: 'yoy_pct', accumulation: 'period', rawValue: '-0.8%', locator: 'sheet "1-10月" row "社会消费品零售总额" col "10月 / 同比增长"' }));
    expect(rejectsOf(records).map((r) => [r.reason, r.locator])).toEqual([['unknown_indicator', 'sheet "1-10月" row "商品房销售额"']]);
  });

  it('sniffs a zip as XLSX whatever the registry says', async () => {
    const { records } = await parseDocument({ bytes: readCase('monthly-indicators.xlsx'), format: 'stats-table', district: 'shanghai' }, catalog);
    expect(figuresOf(records)).toHaveLength(14);
  });

  it('refuses legacy binary .xls as unsupported_format', async () => {
    const { records } = await parseDocument({ bytes: readCase('legacy-monthly.xls'), format: 'xls', url: 'legacy-monthly.xls' }, catalog);
    expect(records).toEqual([
      { kind: 'reject', reason: 'unsupported_format', detail: 'legacy binary .xls (BIFF) is not read; publish or fetch the XLSX or HTML edition', locator: 'legacy-monthly.xls' },
    ]);
  });

  it('fails a corrupt zip with a typed non-retryable error', async () => {
    const bytes = Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 7)]);
    await expect(parseDocument({ bytes, format: 'xls' }, catalog)).rejects.toMatchObject({ name: 'NonRetryableError', code: 'unreadable_document' });
    await expect(parseDocument({ bytes, format: 'xls' }, catalog)).rejects.toBeInstanceOf(NonRetryableError);
  });
});

describe('formatNumber', () => {
  it('prints a stored double as the sheet shows it, in strings', () => {
    expect(formatNumber(0.021, '0.0%')).toBe('2.1%');
    expect(formatNumber(2990.4999999999995, '0.0')).toBe('2990.5');
    expect(formatNumber(3301.2, '0.00')).toBe('3301.20');
    expect(formatNumber(1725, '#,##0')).toBe('1725');
    expect(formatNumber(12.34, undefined)).toBe('12.34');
    expect(formatNumber(1e-7, undefined)).toBe('1e-7');
  });
});

describe('xls: bounds on what a workbook may inflate to (zip bombs)', () => {
  it('lets a statistics workbook through the default bounds', async () => {
    expect(await checkZipBounds(readCase('monthly-indicators.xlsx'))).toBeUndefined();
    expect(ZIP_LIMITS.maxTotalBytes).toBeGreaterThanOrEqual(ZIP_LIMITS.maxEntryBytes);
  });

  it('refuses a part that declares more than the bound, naming it', async () => {
    const reason = await checkZipBounds(readCase('monthly-indicators.xlsx'), { maxEntryBytes: 1_000, maxTotalBytes: 1_000_000, maxEntries: 100 });
    expect(reason).toMatch(/^part "xl\/[^"]+" inflates to \d+ MB \(at most 0 MB is read\)/);
  });

  it('refuses a workbook whose parts together declare more than the bound, or too many parts', async () => {
    expect(await checkZipBounds(readCase('monthly-indicators.xlsx'), { maxEntryBytes: 1_000_000, maxTotalBytes: 5_000, maxEntries: 100 })).toMatch(/^the workbook inflates to/);
    expect(await checkZipBounds(readCase('monthly-indicators.xlsx'), { maxEntryBytes: 1_000_000, maxTotalBytes: 1_000_000, maxEntries: 2 })).toMatch(/^the workbook has \d+ parts/);
  });

  it('ends a truncated archive as unreadable_document', async () => {
    const bytes = readCase('monthly-indicators.xlsx');
    await expect(checkZipBounds(bytes.subarray(0, bytes.length >> 1))).rejects.toMatchObject({ code: 'unreadable_document' });
  });
});
