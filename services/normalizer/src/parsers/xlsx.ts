/**
 * xls: spreadsheet attachments of the statistics pages. XLSX is read with exceljs into the same
 * grids as HTML tables (merged cells copied into every slot), then table-records.ts applies the
 * same rules. Legacy binary .xls (BIFF in an OLE2 container) is refused as `unsupported_format`:
 * the one npm package that reads it (`xlsx` 0.18.5) carries known vulnerabilities, and a figure
 * read wrongly is worse than an operator told to fetch the XLSX or HTML edition.
 */
import type ExcelJS from 'exceljs';
import yauzl from 'yauzl';
import { NonRetryableError } from '@nst/shared/errors';
import type { IndicatorCatalog } from '../indicators';
import { roundDecimal, shiftDecimal } from '../numbers';
import type { ParseInput, ParseResult, ParsedRecord } from '../records';
import { finishGrid, type GridCell, type TableGrid } from './grid';
import { collapse } from './page';
import { extractTableRecords } from './table-records';

/** Leading bytes of an OLE2 compound file: a legacy .xls (or .doc). */
export const OLE2_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
/** Leading bytes of a zip archive, which an XLSX is. */
export const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Largest sheet read, in cells: a bigger one is not a statistics table. */
const MAX_CELLS = 200_000;

/**
 * Bounds on what a workbook may inflate to before exceljs sees it. exceljs (through JSZip) inflates
 * every part into memory at once, so a zip bomb (a few MB that inflate to gigabytes) would take the
 * worker down. A statistics workbook's parts are kilobytes; these bounds are far above that and far
 * below what hurts a worker.
 */
export const ZIP_LIMITS = {
  /** Largest inflated part (a sheet's XML, the shared strings), in bytes. */
  maxEntryBytes: 16 * 1024 * 1024,
  /** Largest inflated workbook, all parts together, in bytes. */
  maxTotalBytes: 32 * 1024 * 1024,
  /** Most parts in one workbook. */
  maxEntries: 1_000,
} as const;

export async function parseXlsx(input: ParseInput, catalog: IndicatorCatalog): Promise<ParseResult> {
  const locator = input.url ?? 'document';
  if (input.bytes.subarray(0, OLE2_MAGIC.length).equals(OLE2_MAGIC)) {
    return {
      records: [{ kind: 'reject', reason: 'unsupported_format', detail: 'legacy binary .xls (BIFF) is not read; publish or fetch the XLSX or HTML edition', locator }],
    };
  }
  if (!input.bytes.subarray(0, ZIP_MAGIC.length).equals(ZIP_MAGIC)) {
    throw new NonRetryableError('unreadable_document', 'not an XLSX file (no zip signature)');
  }
  const tooLarge = await checkZipBounds(input.bytes);
  if (tooLarge) return { records: [{ kind: 'reject', reason: 'too_large', detail: tooLarge, locator }] };
  const grids = await readWorkbookGrids(input.bytes);
  const records: ParsedRecord[] = [];
  let figures = 0;
  for (const grid of grids) {
    const outcome = extractTableRecords(grid, {
      catalog,
      // A sheet has no page title; its own title rows and name carry the period, else the file name.
      pageTitle: `${grid.caption} ${decodeURIComponent(input.url?.split('/').pop() ?? '')}`,
      ...(input.district ? { district: input.district } : {}),
      ...(input.fetchedAt ? { fetchedAt: input.fetchedAt } : {}),
    });
    if (outcome.hasFigures) figures += 1;
    records.push(...outcome.records);
  }
  if (figures === 0) records.push({ kind: 'reject', reason: 'no_records', detail: `none of the workbook's ${grids.length} sheet(s) holds a figure`, locator });
  return { records };
}

/**
 * Why the workbook is too large to open, or undefined when it is within {@link ZIP_LIMITS}. The
 * sizes the archive declares are checked first (nothing is inflated for an honest bomb); then every
 * part is inflated as a stream and counted, because declared sizes can lie: the count stops at the
 * bound, and yauzl also fails a part that inflates past its declared size. A corrupt archive is an
 * `unreadable_document` failure.
 */
export async function checkZipBounds(bytes: Buffer, limits: { maxEntryBytes: number; maxTotalBytes: number; maxEntries: number } = ZIP_LIMITS): Promise<string | undefined> {
  const mb = (n: number) => `${Math.round(n / 1024 / 1024)} MB`;
  let zip: yauzl.ZipFile;
  try {
    zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
      yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (error, file) => (error ? reject(error) : resolve(file))),
    );
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `the XLSX cannot be opened (${(error as Error).message})`, { cause: error });
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    return `the workbook has ${zip.entryCount} parts (at most ${limits.maxEntries} are read)`;
  }
  const entries: yauzl.Entry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.push(entry);
        zip.readEntry();
      });
      zip.once('end', () => resolve());
      zip.once('error', reject);
      zip.readEntry();
    });
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `the XLSX cannot be opened (${(error as Error).message})`, { cause: error });
  }
  const declared = entries.reduce((sum, entry) => sum + entry.uncompressedSize, 0);
  const biggest = entries.reduce<yauzl.Entry | undefined>((max, entry) => (!max || entry.uncompressedSize > max.uncompressedSize ? entry : max), undefined);
  if (biggest && biggest.uncompressedSize > limits.maxEntryBytes) {
    return `part "${biggest.fileName}" inflates to ${mb(biggest.uncompressedSize)} (at most ${mb(limits.maxEntryBytes)} is read): a zip bomb or not a statistics table`;
  }
  if (declared > limits.maxTotalBytes) return `the workbook inflates to ${mb(declared)} (at most ${mb(limits.maxTotalBytes)} is read)`;
  let total = 0;
  for (const entry of entries) {
    if (entry.fileName.endsWith('/')) continue;
    const inflated = await inflatedSize(zip, entry, Math.min(limits.maxEntryBytes, limits.maxTotalBytes - total) + 1);
    if (inflated === 'lies') return `part "${entry.fileName}" inflates past the ${mb(entry.uncompressedSize)} it declares: a zip bomb`;
    total += inflated;
    if (inflated > limits.maxEntryBytes || total > limits.maxTotalBytes) {
      return `part "${entry.fileName}" inflates past ${mb(Math.min(limits.maxEntryBytes, limits.maxTotalBytes))}, more than it declares: a zip bomb`;
    }
  }
  return undefined;
}

/** Inflate one part, counting bytes and stopping at `stopAt`; `lies` when it outgrows its declared size. */
async function inflatedSize(zip: yauzl.ZipFile, entry: yauzl.Entry, stopAt: number): Promise<number | 'lies'> {
  let stream: NodeJS.ReadableStream & { destroy(): void };
  try {
    stream = await new Promise((resolve, reject) => zip.openReadStream(entry, (error, s) => (error ? reject(error) : resolve(s as typeof stream))));
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `the XLSX cannot be opened (${(error as Error).message})`, { cause: error });
  }
  let count = 0;
  try {
    for await (const chunk of stream) {
      count += (chunk as Buffer).length;
      if (count >= stopAt) break;
    }
  } catch (error) {
    if (/too many bytes in the stream/.test((error as Error).message)) return 'lies';
    throw new NonRetryableError('unreadable_document', `the XLSX cannot be opened (${(error as Error).message})`, { cause: error });
  } finally {
    stream.destroy();
  }
  return count;
}

/** Each visible worksheet as a grid. A corrupt archive is a typed non-retryable failure. */
export async function readWorkbookGrids(bytes: Buffer): Promise<TableGrid[]> {
  // Loaded on the first workbook, not at start: about 30 MB a normalizer that reads only HTML never needs.
  const { default: excel } = await import('exceljs');
  const workbook = new excel.Workbook();
  try {
    // exceljs types the argument as its own Buffer; a Node Buffer is what it reads.
    await workbook.xlsx.load(bytes as unknown as Parameters<typeof workbook.xlsx.load>[0]);
  } catch (error) {
    throw new NonRetryableError('unreadable_document', `the XLSX cannot be opened (${(error as Error).message})`, { cause: error });
  }
  const grids: TableGrid[] = [];
  workbook.eachSheet((sheet) => {
    if (sheet.state !== 'visible') return;
    const height = sheet.rowCount;
    const width = sheet.columnCount;
    if (height * width > MAX_CELLS) throw new NonRetryableError('unreadable_document', `sheet "${sheet.name}" is too large (${height}×${width})`);
    const rows: GridCell[][] = [];
    for (let r = 1; r <= height; r += 1) {
      const row: GridCell[] = [];
      const sheetRow = sheet.getRow(r);
      for (let c = 1; c <= width; c += 1) {
        const cell = sheetRow.getCell(c);
        const master = cell.isMerged ? cell.master : cell;
        row.push({ text: readCellText(master), header: false, spanned: master !== cell && master.address !== cell.address, colspan: 1 });
      }
      rows.push(row);
    }
    grids.push(finishGrid(rows, sheet.name, '', `sheet "${sheet.name}"`));
  });
  return grids;
}

/** What the sheet prints in a cell, as text: numbers through their number format, never a float's noise. */
function readCellText(cell: ExcelJS.Cell): string {
  const value = cell.value;
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return formatNumber(value, cell.numFmt);
  if (typeof value === 'string') return collapse(value);
  if (typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if ('richText' in value) return collapse(value.richText.map((part) => part.text).join(''));
  if ('text' in value && typeof value.text === 'string') return collapse(value.text);
  if ('result' in value) {
    const result = value.result;
    if (typeof result === 'number') return formatNumber(result, cell.numFmt);
    if (typeof result === 'string') return collapse(result);
    if (result && typeof result === 'object' && 'error' in result) return String(result.error);
    return '';
  }
  if ('error' in value) return String(value.error);
  return '';
}

/**
 * A stored double → the decimal the sheet shows. `String(n)` is the shortest text that reads back
 * as the same double, i.e. what was typed; a fixed-decimal format (`0.00`, `#,##0.0`) then rounds
 * it as Excel prints it, and a percent format (`0.0%`) moves the point two places, in strings.
 */
export function formatNumber(value: number, numFmt: string | undefined): string {
  if (!Number.isFinite(value)) return String(value);
  let text = String(value);
  // Exponent notation (1e-7, 1e21) is not a published statistic: leave it for the cell parser to refuse.
  if (/e/i.test(text)) return text;
  const format = (numFmt ?? '').split(';')[0] ?? '';
  if (format.includes('%')) text = shiftDecimal(text, 2);
  const decimals = /0\.(0+)/.exec(format);
  if (decimals?.[1]) text = roundDecimal(text, decimals[1].length);
  else if (/^[#,]*0%?$/.test(format.replace(/[_\s].*$/, ''))) text = roundDecimal(text, 0);
  return format.includes('%') ? `${text}%` : text;
}
