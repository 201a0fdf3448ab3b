/**
 * A table as a rectangular grid of cells, whatever it came from (an HTML `<table>` or an XLSX
 * sheet). Merged cells (rowspan/colspan, XLSX merges) are copied into every slot they cover, with
 * `spanned` set on the copies, so header labels reach every column below them.
 */
import { emptyList } from '@nst/shared/arrays';
import { isTag as isElement, type Element } from 'domhandler';
import { findAll, findOne, nextElementSibling, prevElementSibling, textContent } from 'domutils';
import { collapse, type PageQuery } from './page';

export interface GridCell {
  text: string;
  /** A `<th>`, or a cell styled as a header in a sheet. */
  header: boolean;
  /** A copy made for a slot covered by a merged cell (not where the cell was written). */
  spanned: boolean;
  /** How many columns the original cell covers. */
  colspan: number;
}

export interface TableGrid {
  rows: GridCell[][];
  width: number;
  /** `<caption>`, or the heading / paragraph printed just above the table. */
  caption: string;
  /** Text after the table (注：…), where the basis or status is often stated. */
  notes: string;
  /** `table[0]`, `sheet "Sheet1"`: the start of every locator in this table. */
  name: string;
}

/** Largest span honoured: bigger values are typos or attacks, not layouts. */
const MAX_SPAN = 100;

function readSpan(value: string | undefined): number {
  const n = Number.parseInt(value ?? '1', 10);
  return Number.isFinite(n) && n >= 1 ? Math.min(n, MAX_SPAN) : 1;
}

/** Every `<table>` of the page as a grid, outermost tables only once (nested layout tables skipped). */
export function readHtmlTables($: PageQuery): TableGrid[] {
  const grids: TableGrid[] = [];
  // Walked on the DOM nodes directly: wrapping every row and cell in a Cheerio object cost more
  // than reading the table.
  for (const table of findAll(isTag('table'), $.dom.children)) {
    // A table holding other tables is page layout; its inner tables are read on their own.
    if (findOne(isTag('table'), table.children)) continue;
    const grid = readHtmlTable(table, `table[${grids.length}]`);
    if (grid.rows.length > 0) grids.push(grid);
  }
  return grids;
}

const isTag = (name: string) => (node: Element) => node.name === name;

function readHtmlTable(table: Element, name: string): TableGrid {
  const rows: GridCell[][] = [];
  // Slots already taken by a rowspan from a row above: rowIndex → colIndex → cell.
  const carried = new Map<number, Map<number, GridCell>>();
  // Plain loops: a closure made for every table (or row) and hot enough for TurboFan was compiled
  // again for each, its compiled code going with it (`--trace-opt`: 3–4 times a parse thread).
  const trs = findAll(isTag('tr'), table.children);
  for (let rowIndex = 0; rowIndex < trs.length; rowIndex += 1) {
    const row: GridCell[] = [];
    const pending = carried.get(rowIndex) ?? new Map<number, GridCell>();
    let col = 0;
    for (const cellNode of trs[rowIndex]!.children) {
      if (!isElement(cellNode) || (cellNode.name !== 'td' && cellNode.name !== 'th')) continue;
      col = fillCarried(row, pending, col);
      const colspan = readSpan(cellNode.attribs.colspan);
      const rowspan = readSpan(cellNode.attribs.rowspan);
      const text = collapse(textContent(cellNode));
      const header = cellNode.name === 'th';
      for (let dx = 0; dx < colspan; dx += 1) {
        row[col + dx] = { text, header, spanned: dx > 0, colspan };
        for (let dy = 1; dy < rowspan; dy += 1) {
          const below = carried.get(rowIndex + dy) ?? new Map<number, GridCell>();
          below.set(col + dx, { text, header, spanned: true, colspan });
          carried.set(rowIndex + dy, below);
        }
      }
      col += colspan;
    }
    fillCarried(row, pending, col);
    rows.push(row);
  }
  return finishGrid(rows, readCaption(table), readNotes(table), name);
}

/** Fill `row` from column `col` on with the cells a rowspan above carries into it; the next free column. */
function fillCarried(row: GridCell[], pending: ReadonlyMap<number, GridCell>, col: number): number {
  let next = col;
  while (pending.has(next)) {
    row[next] = pending.get(next)!;
    next += 1;
  }
  return next;
}

/** Pad ragged rows with empty cells so every row has the same width. */
export function finishGrid(rows: Array<Array<GridCell | undefined>>, caption: string, notes: string, name: string): TableGrid {
  let width = 0;
  for (const row of rows) width = Math.max(width, row.length);
  // Lists by @nst/shared/arrays: the table readers are compiled once, for one kind of array.
  const filled = emptyList<GridCell[]>();
  for (const row of rows) {
    const cells = emptyList<GridCell>();
    for (let col = 0; col < width; col += 1) cells.push(row[col] ?? { text: '', header: false, spanned: false, colspan: 1 });
    if (cells.some((cell) => cell.text !== '')) filled.push(cells);
  }
  return { rows: filled, width, caption, notes, name };
}

/**
 * The table's title: its `<caption>`, else the nearest text before it (a heading or paragraph
 * such as "2025年1-10月宝山区主要经济指标（单位：亿元）"), at most two blocks back.
 */
function readCaption(table: Element): string {
  const caption = collapse(textContent(table.children.filter((node) => isElement(node) && node.name === 'caption')));
  if (caption !== '') return caption;
  // Walk up when the table is the first child of its wrapper (<div class="table-wrap"><table>).
  const wrapper = table.parent && isElement(table.parent) ? table.parent : null;
  const first = prevElementSibling(table) ?? (wrapper && prevElementSibling(wrapper));
  return readBlocks(first, prevElementSibling, 2).reverse().join(' ');
}

function readNotes(table: Element): string {
  return readBlocks(nextElementSibling(table), nextElementSibling, 3).join(' ');
}

/**
 * The texts of up to `steps` sibling elements from `first` on, stopping at a table or a block
 * holding one. Walked on the DOM nodes (as cheerio's `prev`, `next`, `is` and `text` read them):
 * through cheerio, every step compiled a selector.
 */
function readBlocks(first: Element | null, step: (node: Element) => Element | null, steps: number): string[] {
  const parts: string[] = [];
  let node = first;
  for (let taken = 0; node && taken < steps; taken += 1) {
    if (node.name === 'table' || findOne(isTag('table'), node.children)) break;
    const text = collapse(textContent(node));
    if (text !== '') parts.push(text);
    node = step(node);
  }
  return parts;
}
