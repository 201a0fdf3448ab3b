/**
 * The parse entry: picks the parser for a document, then validates every record it produced with
 * the zod schemas of records.ts. A record that fails validation becomes an `invalid_record`
 * reject (with the issues and the record itself), so one bad figure never hides the good ones.
 *
 * Formats are taken from the source registry but the bytes are sniffed first: a zip is an XLSX
 * whatever the registry says, an OLE2 file a legacy .xls, a `%PDF` a PDF (not read: rejected as
 * `unsupported_format`). An empty body or binary garbage throws a NonRetryableError
 * (`empty_document` / `unreadable_document`): the job fails once, with that reason, and stops.
 */
import { NonRetryableError } from '@nst/shared/errors';
import { parseHtmlWithin } from '@nst/shared/markup';
import { parseCell } from '../numbers';
import type { IndicatorCatalog } from '../indicators';
import { ParsedRecord, type ObservationRecord, type ParseInput, type ParseResult, type RejectRecord } from '../records';
import { parseBulletin } from './bulletin';
import { parseNewsArticle } from './news';
import { queryPage } from './page';
import { parseStatsTable } from './stats-table';
import { OLE2_MAGIC, ZIP_MAGIC, parseXlsx } from './xlsx';

export type DocumentKind = 'xlsx' | 'xls' | 'pdf' | 'text';

/** What the leading bytes say the document is, whatever it claims to be. */
export function sniffBytes(bytes: Buffer): DocumentKind {
  if (bytes.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC)) return 'xlsx';
  if (bytes.subarray(0, OLE2_MAGIC.length).equals(OLE2_MAGIC)) return 'xls';
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  return 'text';
}

/**
 * The format of a local file when nobody says (`nst parse` without --format): spreadsheets by
 * their bytes; a bulletin or economic report by its title (统计公报, 经济运行情况 …); a page with
 * a table of at least four figures → stats-table; anything else → news-article.
 */
export function guessFormat(bytes: Buffer, text: string): ParseInput['format'] {
  const kind = sniffBytes(bytes);
  if (kind === 'xlsx' || kind === 'xls') return 'xls';
  // Too deep to load safely: any HTML format will refuse it with the reason; don't load it here.
  const dom = parseHtmlWithin(text);
  if (!dom) return 'stats-table';
  const $ = queryPage(dom);
  const title = `${$('title').first().text()} ${$('h1').first().text()}`;
  if (/统计公报|经济运行情况|经济运行简况|国民经济和社会发展|statistical communiqu|statistical bulletin/i.test(title)) return 'bulletin';
  const figures = $('td, th')
    .toArray()
    .filter((cell) => parseCell($(cell).text()).kind === 'number').length;
  if (figures >= 4 || ($('table').length > 0 && /主要经济指标|月度数据|统计数据|主要指标/.test(title))) return 'stats-table';
  return 'news-article';
}

/**
 * Parse one document into validated records. Async because XLSX workbooks are read with exceljs,
 * whose reader is asynchronous; HTML parsing itself is synchronous and pure.
 */
export async function parseDocument(input: ParseInput, catalog: IndicatorCatalog): Promise<ParseResult> {
  const result = await dispatch(input, catalog);
  return { ...result, records: validateRecords(dedupeObservations(result.records)) };
}

async function dispatch(input: ParseInput, catalog: IndicatorCatalog): Promise<ParseResult> {
  const locator = input.url ?? 'document';
  if (input.bytes.length === 0 && !input.text) throw new NonRetryableError('empty_document', 'the document body is empty');
  const kind = sniffBytes(input.bytes);
  if (kind === 'xlsx' || kind === 'xls') return parseXlsx(input, catalog);
  if (kind === 'pdf') {
    return { records: [{ kind: 'reject', reason: 'unsupported_format', detail: 'PDF documents are not parsed; the HTML edition of the same bulletin is', locator }] };
  }
  switch (input.format) {
    case 'stats-table':
      return parseStatsTable(input, catalog);
    case 'bulletin':
      return parseBulletin(input, catalog);
    case 'news-article':
      return parseNewsArticle(input, catalog);
    case 'xls':
      // Registered as a spreadsheet but not one (an HTML error page served in its place).
      throw new NonRetryableError('unreadable_document', 'expected a spreadsheet, the bytes are neither XLSX nor XLS');
    case 'news-list':
      // List pages only yield links (the fetcher's job); they carry no records.
      return { records: [] };
  }
}

/**
 * The same figure printed twice on one page (a summary table and a detail table) is one record;
 * two different values under one key are a conflict: the first is kept and the second rejected,
 * so the store never sees both as competing vintages of one document.
 */
function dedupeObservations(records: ParsedRecord[]): ParsedRecord[] {
  const seen = new Map<string, ObservationRecord>();
  const out: ParsedRecord[] = [];
  for (const record of records) {
    if (record.kind !== 'observation') {
      out.push(record);
      continue;
    }
    const key = [record.district, record.indicator, record.measure, record.accumulation, record.period].join('|');
    const first = seen.get(key);
    if (!first) {
      seen.set(key, record);
      out.push(record);
      continue;
    }
    if (sameDecimal(first, record)) continue;
    out.push({
      kind: 'reject',
      reason: 'ambiguous_column',
      detail: `${key} is printed twice with different values: ${first.rawValue} at ${first.locator} (kept) and ${record.rawValue}`,
      locator: record.locator,
      raw: record.rawValue,
    });
  }
  return out;
}

function sameDecimal(a: ObservationRecord, b: ObservationRecord): boolean {
  const strip = (value: string) => value.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
  return a.unit === b.unit && a.unitMult === b.unitMult && strip(a.value) === strip(b.value);
}

/** Validate each record; an invalid one becomes a reject carrying the zod issues. */
export function validateRecords(records: ParsedRecord[]): ParsedRecord[] {
  return records.map((record) => {
    const parsed = ParsedRecord.safeParse(record);
    if (parsed.success) return parsed.data;
    const invalid: RejectRecord = {
      kind: 'reject',
      reason: 'invalid_record',
      detail: parsed.error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`).join('; '),
      locator: typeof (record as { locator?: unknown }).locator === 'string' ? (record as { locator: string }).locator : 'document',
      raw: record,
    };
    return invalid;
  });
}
