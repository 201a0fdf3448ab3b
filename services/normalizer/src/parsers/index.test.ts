import { NonRetryableError } from '@nst/shared/errors';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IndicatorCatalog } from '../indicators';
import type { ParsedRecord } from '../records';
import { loadTestCatalog, readCase } from '../testing';
import { guessFormat, parseDocument, sniffBytes, validateRecords } from './index';

let catalog: IndicatorCatalog;
beforeAll(async () => {
  catalog = await loadTestCatalog();
});

describe('parseDocument: bad input ends as a reject or a typed non-retryable error', () => {
  it('fails an empty body with empty_document', async () => {
    await expect(parseDocument({ bytes: readCase('empty.html'), format: 'stats-table' }, catalog)).rejects.toMatchObject({ name: 'NonRetryableError', code: 'empty_document' });
    await expect(parseDocument({ bytes: Buffer.from('  \n\t '), format: 'bulletin' }, catalog)).rejects.toMatchObject({ code: 'empty_document' });
  });

  it.each(['stats-table', 'bulletin', 'news-article'] as const)('fails binary garbage as %s with unreadable_document', async (format) => {
    const attempt = parseDocument({ bytes: readCase('binary-garbage.bin'), format }, catalog);
    await expect(attempt).rejects.toBeInstanceOf(NonRetryableError);
    await expect(parseDocument({ bytes: readCase('binary-garbage.bin'), format }, catalog)).rejects.toMatchObject({ code: 'unreadable_document' });
  });

  it('fails markup that nests past the bound only as parsed (<li><p> repeated) with unreadable_document', async () => {
    const text = `<html><body><table><tr><td>地区生产总值</td><td>1,802.35</td></tr></table><ul>${'<li><p>项'.repeat(100_000)}</ul></body></html>`;
    await expect(parseDocument({ bytes: Buffer.from(text), format: 'stats-table' }, catalog)).rejects.toMatchObject({ code: 'unreadable_document' });
    expect(guessFormat(Buffer.from(text), text)).toBe('stats-table');
  });

  it('rejects a PDF as unsupported_format', async () => {
    const { records } = await parseDocument({ bytes: readCase('bulletin-scan.pdf'), format: 'bulletin', url: 'bulletin-scan.pdf' }, catalog);
    expect(records).toEqual([
      { kind: 'reject', reason: 'unsupported_format', detail: 'PDF documents are not parsed; the HTML edition of the same bulletin is', locator: 'bulletin-scan.pdf' },
    ]);
  });

  it('rejects a bulletin without any catalog figure as no_records', async () => {
    const bytes = Buffer.from('<html><head><title>宝山区2024年统计公报</title></head><body><p>全年港口货物吞吐量增长3%。</p></body></html>');
    const { records } = await parseDocument({ bytes, format: 'bulletin', url: 'u' }, catalog);
    expect(records).toEqual([{ kind: 'reject', reason: 'no_records', detail: 'no figure of a catalog indicator in the text', locator: 'u' }]);
  });

  it('yields nothing for a list page', async () => {
    const { records } = await parseDocument({ bytes: Buffer.from('<html><body><a href="/a.html">a</a></body></html>'), format: 'news-list' }, catalog);
    expect(records).toEqual([]);
  });
});

describe('parseDocument: one figure printed twice', () => {
  const table = (second: string) =>
    Buffer.from(`<html><head><title>2025年1-10月宝山区主要经济指标</title></head><body>
      <table><tr><td>指标</td><td>1-10月（亿元）</td></tr><tr><td>规模以上工业总产值</td><td>2987.15</td></tr></table>
      <table><tr><td>指标</td><td>1-10月（亿元）</td></tr><tr><td>规上工业总产值</td><td>${second}</td></tr></table></body></html>`);

  it('keeps one record when both print the same value', async () => {
    const { records } = await parseDocument({ bytes: table('2987.150'), format: 'stats-table' }, catalog);
    expect(records.map((record) => record.kind)).toEqual(['observation']);
  });

  it('keeps the first and rejects a conflicting second as ambiguous_column', async () => {
    const { records } = await parseDocument({ bytes: table('2990.00'), format: 'stats-table' }, catalog);
    expect(records.map((record) => [record.kind, record.kind === 'reject' ? record.reason : record.kind === 'observation' ? record.value : record.kind])).toEqual([
      ['observation', '2987.15'],
      ['reject', 'ambiguous_column'],
    ]);
  });
});

describe('validateRecords', () => {
  it('turns a record that fails its schema into an invalid_record reject', () => {
    const bad = { kind: 'observation', district: 'pudong', indicator: 'gdp', measure: 'level', accumulation: 'period', period: '2024-13', value: '1.0', unit: 'CNY', unitMult: 8, status: 'final', basis: 'unknown', rawValue: '1.0', locator: 'x' } as unknown as ParsedRecord;
    const [record] = validateRecords([bad]);
    expect(record).toMatchObject({ kind: 'reject', reason: 'invalid_record', locator: 'x', raw: bad });
    expect(record?.kind === 'reject' && record.detail).toMatch(/district.*period/s);
  });
});

describe('format sniffing', () => {
  it('knows spreadsheets, PDFs and text by their bytes', () => {
    expect(sniffBytes(readCase('monthly-indicators.xlsx'))).toBe('xlsx');
    expect(sniffBytes(readCase('legacy-monthly.xls'))).toBe('xls');
    expect(sniffBytes(readCase('bulletin-scan.pdf'))).toBe('pdf');
    expect(sniffBytes(readCase('stats-table-unit-in-title.html'))).toBe('text');
  });

  it.each([
    ['stats-table-two-level-headers.html', 'stats-table'],
    ['stats-table-unit-in-title.html', 'stats-table'],
    ['stats-table-no-numbers.html', 'stats-table'],
    ['bulletin-baoshan-2024.html', 'bulletin'],
    ['bulletin-jinshan-q3-report.html', 'bulletin'],
    ['news-en-target.html', 'news-article'],
    ['news-zh-baoshan.html', 'news-article'],
    ['monthly-indicators.xlsx', 'xls'],
  ])('guesses %s as %s', (name, format) => {
    const bytes = readCase(name);
    expect(guessFormat(bytes, bytes.toString('utf8'))).toBe(format);
  });
});
