/**
 * stats-table: an HTML page of monthly / quarterly indicator tables (the city bureau's 月度数据,
 * the districts' 主要经济指标). Every `<table>` with figures is read by table-records.ts; a page
 * whose tables hold no figure at all ends as one `no_records` reject, never as an empty success.
 */
import type { IndicatorCatalog } from '../indicators';
import type { ParseInput, ParseResult, ParsedRecord } from '../records';
import { readHtmlTables } from './grid';
import { loadPage } from './page';
import { extractTableRecords } from './table-records';

export function parseStatsTable(input: ParseInput, catalog: IndicatorCatalog): ParseResult {
  const page = loadPage(input);
  const grids = readHtmlTables(page.$);
  const records: ParsedRecord[] = [];
  const last = grids[grids.length - 1];
  if (last && isCutInsideTable(page.text)) {
    // The body ends inside a table: its last row may stop mid-number ("30" of "303.5"), so it is
    // not read at all. What came before it is whole and is kept.
    grids[grids.length - 1] = { ...last, rows: last.rows.slice(0, -1) };
    records.push({
      kind: 'reject',
      reason: 'unreadable_document',
      detail: `the document ends inside ${last.name}; its last row is not read`,
      locator: `${last.name} row "${last.rows[last.rows.length - 1]?.[0]?.text ?? ''}"`,
    });
  }
  let figures = 0;
  for (const grid of grids) {
    const outcome = extractTableRecords(grid, {
      catalog,
      pageTitle: page.title,
      ...(input.district ? { district: input.district } : {}),
      ...(page.publishedAt ? { publishedAt: page.publishedAt } : {}),
      ...(input.fetchedAt ? { fetchedAt: input.fetchedAt } : {}),
    });
    if (outcome.hasFigures) figures += 1;
    records.push(...outcome.records);
  }
  if (figures === 0 && !records.some((record) => record.kind === 'reject' && record.reason === 'unreadable_document')) {
    records.push({
      kind: 'reject',
      reason: 'no_records',
      detail: grids.length === 0 ? 'the page holds no table' : `none of the page's ${grids.length} table(s) holds a figure`,
      locator: input.url ?? 'document',
    });
  }
  return { records, title: page.title, ...(page.publishedAt ? { publishedAt: page.publishedAt } : {}) };
}

/** Whether the markup stops inside a table (more `<table>` opened than closed). */
export function isCutInsideTable(markup: string): boolean {
  const opened = markup.match(/<table\b/gi)?.length ?? 0;
  const closed = markup.match(/<\/table\s*>/gi)?.length ?? 0;
  return opened > closed;
}
