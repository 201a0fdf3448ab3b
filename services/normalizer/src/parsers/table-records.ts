/**
 * One table grid → observation and reject records. Shared by the HTML stats-table parser and the
 * XLSX parser, so an attachment and the page it belongs to are read by the same rules:
 *
 * - Title lines (one merged cell across the table, "单位：亿元") and header rows (text, not
 *   numbers, below the title) are told apart from body rows by their content, because publishers
 *   use `<td>` for headers as often as `<th>`.
 * - Each value column gets a measure (level / growth / share / percentage points), a period span
 *   and maybe a unit from its header labels, top to bottom. A growth column without its own period
 *   ("同比增长%") belongs to the nearest period column on its left; a level column without one to
 *   the table's title ("2025年1-10月…").
 * - Tables printed as two panels side by side (指标|1-10月|增长|指标|1-10月|增长) are read panel by
 *   panel.
 * - Every body row with at least one figure becomes records or rejects: a label that matches no
 *   catalog indicator is one `unknown_indicator` reject for the row, never a silent drop. A row
 *   without figures (一、工业 category rows, all "—") yields nothing.
 */
import { emptyList, kept, mapped } from '@nst/shared/arrays';
import type { District, GrowthBasis, Measure, ObservationStatus } from '@nst/shared/domain';
import type { Indicator } from '@nst/shared/seeds';
import { districtOfLabel, findPageDistrict } from '../districts';
import { indicatorFrequency, normalizeLabel, type IndicatorCatalog } from '../indicators';
import { findStatedUnit, normalizeWidth, parseCell, parseUnit, type UnitSpec } from '../numbers';
import { findYear, inferYearFromPublication, readPeriodSpan, spanEndMonth, toPeriodRef, type PeriodSpan } from '../periods';
import type { ObservationRecord, ParsedRecord, RejectRecord } from '../records';
import type { GridCell, TableGrid } from './grid';

export interface TableContext {
  catalog: IndicatorCatalog;
  /** From the source registry; else taken from the table title or page title. */
  district?: District;
  pageTitle: string;
  /** Publication time of the page (ISO), the year of last resort together with fetchedAt. */
  publishedAt?: string;
  fetchedAt?: Date;
}

export interface TableOutcome {
  records: ParsedRecord[];
  /** Whether the table held any figure at all (a table of text is not a statistics table). */
  hasFigures: boolean;
}

type ColumnRole = 'label' | 'unit' | 'value' | 'skip';

interface Column {
  index: number;
  /** Header labels top-down, duplicates from merged cells removed. */
  headers: string[];
  role: ColumnRole;
  measure: Measure;
  span?: PeriodSpan;
  unit?: UnitSpec;
  basis?: GrowthBasis;
}

interface TableTitle {
  text: string;
  span?: PeriodSpan;
  year?: number;
  reportMonth?: number;
  unit?: UnitSpec;
  status: ObservationStatus;
  district?: District;
}

const YEAR_LIKE = /^(?:19|20)\d{2}(?:年)?$/;
const NOTE_ROW = /^(?:注|说明|备注|资料来源|数据来源|Note|Source)/i;
const GROWTH_SUFFIX = /(?:同比增长|同比增速|比上年增长|比上年同期增长|增长率|增速|增幅|增长|growth)$/i;
const SHARE_SUFFIX = /(?:占比|比重|所占比重)$/;

/** Read one grid. Pure: the same grid and context always give the same records in the same order. */
export function extractTableRecords(grid: TableGrid, context: TableContext): TableOutcome {
  const { titleLines, header, body, notes } = splitRows(grid);
  const title = readTableTitle([grid.caption, ...titleLines].join(' '), context, notes.concat(grid.notes).join(' '));
  const columns = describeColumns(grid, header, body);
  const contradiction = findHeaderContradiction(columns, body);
  if (contradiction) {
    // Header and body disagree on what a column holds (columns swapped or shifted by a template
    // edit): any figure read from this table could sit under the wrong heading, so none is read.
    return { records: [reject('ambiguous_column', contradiction, `${grid.name}`, body.map((row) => row.map((cell) => cell.text)))], hasFigures: true };
  }
  const hasFigures = body.some((row) => columns.some((column) => column.role === 'value' && !isMissing(row[column.index])));
  const records: ParsedRecord[] = [];
  const reportMonth = title.reportMonth ?? latestColumnMonth(columns);
  const rowContext: RowContext = { grid, context, title, reportMonth, notes: notes.concat(grid.notes).join(' ') };
  const byDistrict = readDistrictRows(body, columns, rowContext);
  if (byDistrict) return { records: byDistrict, hasFigures };
  for (const panel of splitPanels(columns)) {
    for (const row of body) records.push(...readRow(row, panel, rowContext));
  }
  return { records, hasFigures };
}

interface RowContext {
  grid: TableGrid;
  context: TableContext;
  title: TableTitle;
  reportMonth?: number;
  notes: string;
}

/** Title lines, header rows, body rows and note rows, top to bottom. */
function splitRows(grid: TableGrid): { titleLines: string[]; header: GridCell[][]; body: GridCell[][]; notes: string[] } {
  const rows = grid.rows;
  let index = 0;
  const titleLines: string[] = [];
  while (index < rows.length && isTitleRow(rows[index] ?? [], grid.width)) {
    titleLines.push(distinctTexts(rows[index] ?? []).join(' '));
    index += 1;
  }
  const header: GridCell[][] = [];
  while (index < rows.length && header.length < 4 && isHeaderRow(rows[index] ?? [])) {
    header.push(rows[index] ?? []);
    index += 1;
  }
  const body: GridCell[][] = [];
  const notes: string[] = [];
  for (; index < rows.length; index += 1) {
    const row = rows[index] ?? [];
    const first = distinctTexts(row)[0] ?? '';
    if (NOTE_ROW.test(first)) notes.push(distinctTexts(row).join(' '));
    else if (notes.length === 0) body.push(row);
    else notes.push(distinctTexts(row).join(' '));
  }
  return { titleLines, header, body, notes };
}

function distinctTexts(row: GridCell[]): string[] {
  const texts: string[] = [];
  for (const cell of row) if (cell.text !== '' && texts[texts.length - 1] !== cell.text) texts.push(cell.text);
  return texts;
}

/** A row holding one text across the table (its title, "单位：亿元"), with no figure in it. */
function isTitleRow(row: GridCell[], width: number): boolean {
  if (width < 2) return false;
  const texts = new Set<string>();
  let filled = 0;
  for (const cell of row) {
    if (cell.text === '') continue;
    texts.add(cell.text);
    filled += 1;
  }
  if (texts.size !== 1) return false;
  const [text = ''] = texts;
  if (parseCell(text).kind === 'number') return false;
  // One merged cell across (nearly) the whole table, or a lone unit/title line.
  return filled >= width - 1 || /单位|计量|Unit/i.test(text) || filled === 1;
}

/**
 * A header row holds column labels: some cell beyond the first is text that is neither a figure,
 * a "missing" mark nor a unit word. Years (2024, 2025年) count as labels here.
 */
function isHeaderRow(row: GridCell[]): boolean {
  if (row.length > 0 && row.every((cell) => cell.header)) return true;
  const rest = row.slice(1);
  if (rest.some((cell) => !YEAR_LIKE.test(cell.text) && parseCell(cell.text).kind === 'number')) return false;
  return rest.some((cell) => {
    const text = cell.text;
    if (text === '' || YEAR_LIKE.test(text)) return YEAR_LIKE.test(text);
    return parseCell(text).kind !== 'missing' && parseUnit(text) === undefined;
  });
}

/** Give each column its role, measure, span, unit and basis from its header labels and body. */
function describeColumns(grid: TableGrid, header: GridCell[][], body: GridCell[][]): Column[] {
  const columns: Column[] = [];
  for (let index = 0; index < grid.width; index += 1) {
    const headers: string[] = [];
    for (const row of header) {
      const text = row[index]?.text ?? '';
      if (text !== '' && !headers.includes(text)) headers.push(text);
    }
    const joined = normalizeWidth(headers.join(' '));
    const role = columnRole(index, joined, body);
    columns.push({
      index,
      headers,
      role,
      measure: classifyMeasure(joined),
      ...optional('span', readPeriodSpan(joined)),
      ...optional('unit', findStatedUnit(joined)),
      ...optional('basis', readBasis(joined)),
    });
  }
  return columns;
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

const UNIT_HEADER = /^(?:计量)?单位$|^Unit$/i;

/**
 * Why the header cannot be trusted, if it cannot: a column headed 单位 whose cells are figures, or
 * a column headed by a period or a measure (1-10月, 增长%) whose cells are unit words.
 */
function findHeaderContradiction(columns: Column[], body: GridCell[][]): string | undefined {
  const mostly = (texts: string[], test: (text: string) => boolean) => texts.length > 0 && kept(texts, test).length > texts.length / 2;
  for (const column of columns) {
    const header = normalizeWidth(column.headers.join(' ')).trim();
    if (header === '') continue;
    const texts = cellTexts(body, column.index);
    if (UNIT_HEADER.test(header) && mostly(texts, (text) => parseCell(text).kind === 'number')) {
      return `column "${header}" holds figures (${texts.slice(0, 3).join(', ')}), not units: the body does not match the header (swapped columns?)`;
    }
    const namesValues = column.span !== undefined || column.measure !== 'level';
    if (namesValues && mostly(texts, (text) => parseUnit(text) !== undefined)) {
      return `column "${header}" holds unit words (${texts.slice(0, 3).join(', ')}), not figures: the body does not match the header (swapped columns?)`;
    }
  }
  return undefined;
}

/**
 * The texts of a column's own cells (not those a span above fills), the empty ones left out. Made by
 * @nst/shared/arrays: the table readers are compiled once, for one kind of array.
 */
function cellTexts(body: GridCell[][], index: number): string[] {
  const texts = emptyList<string>();
  for (const row of body) {
    const cell = row[index];
    if (cell !== undefined && !cell.spanned && cell.text !== '') texts.push(cell.text);
  }
  return texts;
}

function columnRole(index: number, header: string, body: GridCell[][]): ColumnRole {
  if (UNIT_HEADER.test(header.trim())) return 'unit';
  if (/序号|^No\.?$/i.test(header)) return 'skip';
  const texts = cellTexts(body, index);
  if (texts.length === 0) return index === 0 ? 'label' : 'value';
  const labels = kept(texts, (text) => parseCell(text).kind === 'invalid' && parseUnit(text) === undefined && !/^[\d.,\s%]+$/.test(normalizeWidth(text)));
  const units = kept(texts, (text) => parseUnit(text) !== undefined);
  if (units.length > texts.length / 2) return 'unit';
  if (labels.length > texts.length / 2) return 'label';
  return 'value';
}

/** The measure a column's header names. 环比 (month on month) is not a measure we store. */
function classifyMeasure(header: string): Measure {
  if (/百分点|percentage point/i.test(header)) return 'pp_change';
  if (/比重|占比|所占|占全|share/i.test(header)) return 'share_pct';
  if (/增长|增速|增幅|增减|同比|±|\+-|growth|change|y-o-y|yoy|%/i.test(header)) return 'yoy_pct';
  return 'level';
}

/**
 * A growth basis stated in a column header: 可比/不变价 comparable, 现价/名义 nominal. A header's
 * "同比" only says year on year, not at which prices, so it leaves the basis to the notes.
 */
function readBasis(text: string): GrowthBasis | undefined {
  if (/可比|不变价|comparable|constant price/i.test(text)) return 'comparable';
  if (/现价|名义|current price|nominal/i.test(text)) return 'nominal';
  return undefined;
}

/** Columns not to read as figures: prior-period comparisons and month-on-month change. */
function isComparisonColumn(column: Column): boolean {
  const header = column.headers.join(' ');
  if (/环比|上月/.test(header)) return true;
  return column.measure === 'level' && /上年同期|去年同期|上年|去年|同期数/.test(header);
}

/** Split side-by-side panels: each label column starts a panel running to the next. */
function splitPanels(columns: Column[]): Column[][] {
  const starts = emptyList<number>();
  for (const column of columns) if (column.role === 'label') starts.push(column.index);
  return mapped(starts, (start, i) => columns.slice(start, starts[i + 1] ?? columns.length));
}

function latestColumnMonth(columns: Column[]): number | undefined {
  const months = columns.flatMap((column) => (column.span ? [spanEndMonth(column.span)] : [])).filter((m): m is number => m !== undefined);
  return months.length > 0 ? Math.max(...months) : undefined;
}

function readTableTitle(tableTitle: string, context: TableContext, notes: string): TableTitle {
  const spanFromTable = readPeriodSpan(tableTitle);
  const span = spanFromTable ?? readPeriodSpan(context.pageTitle);
  const statedYear = findYear(tableTitle) ?? findYear(context.pageTitle);
  const reportMonth = span ? spanEndMonth(span) : undefined;
  const published = context.publishedAt ? new Date(context.publishedAt) : context.fetchedAt;
  const year = span?.year ?? statedYear ?? (published ? inferYearFromPublication(published, reportMonth) : undefined);
  const everything = `${tableTitle} ${context.pageTitle} ${notes}`;
  const status: ObservationStatus = /快报|初步核算|初步统计|初步数/.test(everything) ? 'provisional' : /预计|预估/.test(everything) ? 'estimated' : 'final';
  const district = findPageDistrict(tableTitle) ?? findPageDistrict(context.pageTitle);
  return {
    text: tableTitle,
    status,
    ...optional('span', span),
    ...optional('year', year),
    ...optional('reportMonth', reportMonth),
    ...optional('unit', findStatedUnit(tableTitle) ?? findStatedUnit(notes)),
    ...optional('district', district),
  };
}

/** What a row label says besides its indicator: a growth or share row ("…增速(%)"). */
function matchRowIndicator(label: string, catalog: IndicatorCatalog): { indicator: Indicator; measure?: Measure } | undefined {
  const direct = catalog.matchLabel(label);
  if (direct) return { indicator: direct };
  const key = normalizeLabel(label);
  const growthBase = key.replace(GROWTH_SUFFIX, '');
  if (growthBase !== key) {
    const indicator = catalog.matchLabel(growthBase);
    if (indicator) return { indicator, measure: 'yoy_pct' };
  }
  const shareBase = key.replace(SHARE_SUFFIX, '');
  if (shareBase !== key) {
    const indicator = catalog.matchLabel(shareBase);
    if (indicator) return { indicator, measure: 'share_pct' };
  }
  return undefined;
}

function readRow(row: GridCell[], panel: Column[], rowContext: RowContext): ParsedRecord[] {
  const { grid, context, title } = rowContext;
  const labelColumn = panel[0];
  if (!labelColumn) return [];
  const label = row[labelColumn.index]?.text ?? '';
  const filled = filledColumns(row, panel);
  // Category rows (一、工业), empty rows and rows whose every figure is "—" publish nothing.
  if (filled.length === 0) return [];
  const rowLocator = `${grid.name} row "${label}"`;
  if (label === '') {
    return [reject('unknown_indicator', 'a row with figures but no label', rowLocator, rowCells(row, panel))];
  }
  const match = matchRowIndicator(label, context.catalog);
  if (!match) {
    return [reject('unknown_indicator', `no catalog indicator matches "${label}"`, rowLocator, rowCells(row, panel))];
  }
  const district = context.district ?? title.district;
  if (!district) return [reject('unknown_district', 'neither the source nor the page names a district', rowLocator)];
  const unitColumn = panel.find((column) => column.role === 'unit');
  const rowUnit = (unitColumn ? parseUnit(row[unitColumn.index]?.text ?? '') : undefined) ?? findStatedUnit(label);
  return filled.map((column) =>
    readCell(row[column.index]?.text ?? '', cellTarget(match, district, column, panel, label, rowUnit, `${rowLocator} col "${columnName(column)}"`), rowContext),
  );
}

function filledColumns(row: GridCell[], panel: Column[]): Column[] {
  return panel.filter((column) => column.role === 'value' && !isComparisonColumn(column) && !isMissing(row[column.index]));
}

/**
 * A body cell that publishes nothing: "—", "…", blank, or a copy of a merged cell (a category row
 * `<td colspan="4">一、工业</td>` reaches into the value columns; a figure belongs to its own slot).
 */
function isMissing(cell: GridCell | undefined): boolean {
  return !cell || cell.spanned || parseCell(cell.text).kind === 'missing';
}

function columnName(column: Column): string {
  return column.headers.join(' / ') || `#${column.index}`;
}

interface CellTarget {
  indicator: Indicator;
  /** A measure the row label states ("…增速"), overriding a level column's. */
  measure: Measure | undefined;
  district: District;
  column: Column;
  panel: Column[];
  /** The indicator's label as printed (row label, or column header in a district table). */
  label: string;
  rowUnit: UnitSpec | undefined;
  locator: string;
}

/**
 * A cell's target, every field written out: spreading the row's match into a literal with more
 * fields after it made V8 build a slow object for every cell.
 */
function cellTarget(match: { indicator: Indicator; measure?: Measure }, district: District, column: Column, panel: Column[], label: string,
  rowUnit: UnitSpec | undefined, locator: string): CellTarget {
  return { indicator: match.indicator, measure: match.measure, district, column, panel, label, rowUnit, locator };
}

/** One cell → an observation, or a reject saying why not. */
function readCell(raw: string, target: CellTarget, rowContext: RowContext): ParsedRecord {
  const { title } = rowContext;
  const { indicator, column, locator } = target;
  const cell = parseCell(raw);
  if (cell.kind !== 'number') return reject('unparseable_number', cell.kind === 'invalid' ? cell.reason : 'not a number', locator, raw);
  const measure = target.measure && column.measure === 'level' ? target.measure : column.measure;
  const unit = resolveUnit(measure, column, target.rowUnit, title, indicator);
  if ('reason' in unit) return reject('unknown_unit', unit.reason, locator, raw);
  const span = columnSpan(column, target.panel) ?? title.span;
  const periodRef = span
    ? toPeriodRef(span, { ...optional('year', title.year), ...optional('reportMonth', rowContext.reportMonth), frequency: indicatorFrequency(indicator.code) })
    : undefined;
  if (!periodRef) return reject('unknown_period', `no period for column "${column.headers.join(' ')}" and none in the title`, locator, raw);
  const observation: ObservationRecord = {
    kind: 'observation',
    district: target.district,
    indicator: indicator.code,
    measure,
    accumulation: periodRef.accumulation,
    period: periodRef.period,
    value: cell.value,
    unit: unit.unit,
    unitMult: unit.unitMult,
    status: title.status,
    basis: measure === 'level' ? 'unknown' : growthBasis(column, target.label, rowContext.notes, indicator),
    rawValue: raw,
    locator,
  };
  return observation;
}

/**
 * The city bureau's "各区" tables turn the layout around: one row per district, one column (group)
 * per indicator. Recognised when at least two row labels are our districts (宝山区, 金山区, 全市)
 * and no row label is an indicator. Rows of other districts (浦东新区 …) are outside this tracker
 * and are passed over; a column group naming no catalog indicator is one `unknown_indicator` reject.
 */
function readDistrictRows(body: GridCell[][], columns: Column[], rowContext: RowContext): ParsedRecord[] | undefined {
  const labelColumn = columns.find((column) => column.role === 'label');
  if (!labelColumn) return undefined;
  const labels = body.map((row) => row[labelColumn.index]?.text ?? '');
  if (labels.filter((label) => districtOfLabel(label) !== undefined).length < 2) return undefined;
  if (labels.some((label) => matchRowIndicator(label, rowContext.context.catalog))) return undefined;
  const valueColumns = columns.filter((column) => column.role === 'value' && !isComparisonColumn(column));
  const records: ParsedRecord[] = [];
  const unknownHeaders = new Set<string>();
  for (const row of body) {
    const label = row[labelColumn.index]?.text ?? '';
    const district = districtOfLabel(label);
    if (!district) continue;
    for (const column of valueColumns) {
      if (isMissing(row[column.index])) continue;
      const header = column.headers.find((text) => matchRowIndicator(text, rowContext.context.catalog));
      const match = header ? matchRowIndicator(header, rowContext.context.catalog) : undefined;
      const locator = `${rowContext.grid.name} row "${label}" col "${columnName(column)}"`;
      if (!header || !match) {
        const name = column.headers[0] ?? `#${column.index}`;
        if (!unknownHeaders.has(name)) records.push(reject('unknown_indicator', `no catalog indicator matches the column "${name}"`, `${rowContext.grid.name} col "${columnName(column)}"`, column.headers));
        unknownHeaders.add(name);
        continue;
      }
      records.push(readCell(row[column.index]?.text ?? '', cellTarget(match, district, column, valueColumns, header, undefined, locator), rowContext));
    }
  }
  return records;
}

/** The period of a column: its own, else (for growth and share) that of the nearest column to its left. */
function columnSpan(column: Column, panel: Column[]): PeriodSpan | undefined {
  if (column.span) return column.span;
  if (column.measure === 'level') return undefined;
  const left = panel.filter((other) => other.index < column.index && other.role === 'value' && other.span).pop();
  return left?.span;
}

function resolveUnit(measure: Measure, column: Column, rowUnit: UnitSpec | undefined, title: TableTitle, indicator: Indicator): UnitSpec | { reason: string } {
  if (measure === 'yoy_pct' || measure === 'share_pct') return { unit: 'pct', unitMult: 0 };
  if (measure === 'pp_change') return { unit: 'pp', unitMult: 0 };
  // The most specific statement wins: the column's header, then the row, then the table title.
  const stated = [column.unit, rowUnit, title.unit].find((spec) => spec !== undefined && spec.unit !== 'pct' && spec.unit !== 'pp');
  if (!stated) return { reason: `no unit stated for a level of ${indicator.code} (column, row and title are silent)` };
  if (stated.unit !== indicator.unit) return { reason: `unit ${stated.unit} does not fit ${indicator.code} (${indicator.unit})` };
  return stated;
}

/**
 * The basis of a published growth rate, most specific first: 可比/现价 on the row or column; a
 * note clause that says growth is at comparable prices and names this indicator (or names none:
 * "增长速度按可比价格计算"); else unknown — never guessed from the indicator alone.
 */
function growthBasis(column: Column, label: string, notes: string, indicator: Indicator): GrowthBasis {
  const explicit = (text: string) => (/可比|不变价/.test(text) ? 'comparable' : /现价|名义/.test(text) ? 'nominal' : undefined);
  const stated = explicit(normalizeWidth(label)) ?? explicit(normalizeWidth(column.headers.join(' ')));
  if (stated) return stated;
  const fromNotes = basisFromNotes(notes, indicator);
  if (fromNotes) return fromNotes;
  return column.basis ?? 'unknown';
}

/**
 * A note such as "1.地区生产总值按季度核算，增速按可比价格计算。" or "工业产值增速按可比价格计算":
 * a note item that puts growth (增长/增速/速度) at comparable (or current) prices applies to the
 * indicators its first words name — here 地区生产总值, 工业产值 — or to every indicator when it
 * names none ("增长速度按可比价格计算"). A name matches an indicator when its characters run in
 * order through one of the indicator's names ("工业产值" through "规模以上工业总产值").
 */
function basisFromNotes(notes: string, indicator: Indicator): GrowthBasis | undefined {
  // Asked once per growth cell with the same notes: remembered per indicator (object) and notes.
  let known = notesBasis.get(indicator);
  if (!known) notesBasis.set(indicator, (known = new Map()));
  if (known.has(notes)) return known.get(notes) ?? undefined;
  const basis = readNotesBasis(notes, indicator);
  if (known.size >= NOTES_BASIS_MAX) known.clear();
  known.set(notes, basis ?? null);
  return basis;
}

const NOTES_BASIS_MAX = 1_000;
const notesBasis = new WeakMap<Indicator, Map<string, GrowthBasis | null>>();

function readNotesBasis(notes: string, indicator: Indicator): GrowthBasis | undefined {
  const items = normalizeWidth(notes)
    .replace(/^\s*(?:注|说明|备注)\s*[:：]?/, '')
    .split(/[。;；]|(?:^|\s)\d+[.、](?!\d)/);
  for (const item of items) {
    const growth = /(?:增长|增速|速度|增幅)[^，,]*?(可比价|不变价|现价)|(可比价|不变价|现价)[^，,]*?(?:增长|增速|速度|增幅)/.exec(item);
    if (!growth) continue;
    const basis: GrowthBasis = /现价/.test(growth[1] ?? growth[2] ?? '') ? 'nominal' : 'comparable';
    const subject = item.trim().split(/按|增速|增长|速度|增幅|绝对额|总量|为|仅|均|[，,]/)[0] ?? '';
    const names = subject.split(/[、和及与]/).map((name) => name.replace(/^(?:各|所有|全部|主要)/, '').replace(/的$/, '').trim()).filter((name) => name.length >= 2);
    if (names.length === 0) return basis;
    const labels = [indicator.name_zh, ...indicator.aliases];
    if (names.some((name) => labels.some((label) => isSubsequence(name, label)))) return basis;
  }
  return undefined;
}

function isSubsequence(short: string, long: string): boolean {
  let at = 0;
  for (const char of long) if (char === short[at]) at += 1;
  return at === short.length;
}

function rowCells(row: GridCell[], panel: Column[]): string[] {
  return panel.map((column) => row[column.index]?.text ?? '');
}

function reject(reason: RejectRecord['reason'], detail: string, locator: string, raw?: unknown): RejectRecord {
  return { kind: 'reject', reason, detail, locator, ...(raw === undefined ? {} : { raw }) };
}
