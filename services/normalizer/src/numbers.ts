/**
 * Published numbers → exact decimal strings. A figure is stored at the scale it was printed
 * (`1725.00` with 亿元 = value `1725.00`, unitMult 8), so nothing here multiplies: parsing is pure
 * string work and a JS float never touches a stored value.
 *
 * Three outcomes for a cell or token: a number, "missing" (— … blank: no record, never 0), or
 * invalid (`1.2.3`, `NaN`, `∞`: the caller rejects it as `unparseable_number`).
 */
import type { Unit } from '@nst/shared/domain';

/** What a quantity's unit resolves to: the stored unit and its power of ten. */
export interface UnitSpec {
  unit: Unit;
  unitMult: number;
}

/** A number read from a page, with the unit printed beside it when there was one. */
export interface Quantity {
  /** Plain decimal string at the published scale (`-3.2`, `1725.00`). */
  value: string;
  /** Undefined when only a scale word (亿, 万) or nothing stood beside the number. */
  unit?: Unit;
  unitMult: number;
  /** Exactly as printed, unit included. */
  raw: string;
}

export type CellValue =
  | { readonly kind: 'missing' }
  | { readonly kind: 'number'; readonly value: string }
  | { readonly kind: 'invalid'; readonly reason: string };

// Full-width digits/letters/signs (U+FF01–U+FF5E) map onto ASCII by a fixed offset.
const FULLWIDTH_OFFSET = 0xfee0;
const MINUS_SIGNS = /[\u2212\uFF0D\u2012\u2013\uFE63]/g;
/** Any character normalizeWidth would change (full-width ASCII, minus signs, odd spaces). */
const NEEDS_WIDTH_FOLD = /[\uFF01-\uFF5E\u2212\u2012\u2013\uFE63\u3000\u00A0\u2002-\u200B\uFEFF]/;

/**
 * Map full-width ASCII (digits, letters, ％, ＋, ．) and the Unicode minus signs onto ASCII, and the
 * ideographic / no-break spaces onto a space. Chinese punctuation (，。；：（）) is folded too, which
 * is what labels and cells want; running text keeps its own copy for sentence splitting.
 */
export function normalizeWidth(text: string): string {
  // Most cells and labels hold nothing to fold: one scan instead of three replacements.
  if (!NEEDS_WIDTH_FOLD.test(text)) return text;
  return text
    .replace(/[\uFF01-\uFF5E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - FULLWIDTH_OFFSET))
    .replace(MINUS_SIGNS, '-')
    .replace(/[\u3000\u00A0\u2002-\u200B\uFEFF]/g, ' ');
}

/**
 * Like normalizeWidth but only for what makes up a number (digits, ．, ％, ＋, the minus signs),
 * so that `，` and `。` still end clauses in bulletin text.
 */
export function normalizeDigits(text: string): string {
  return text
    .replace(/[\uFF10-\uFF19\uFF05\uFF0B\uFF0E]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) - FULLWIDTH_OFFSET))
    .replace(MINUS_SIGNS, '-')
    .replace(/[\u3000\u00A0\u2002-\u200B\uFEFF]/g, ' ')
    // A full-width comma between digit groups is a thousands separator, not a clause break.
    .replace(/(\d)\uFF0C(?=\d{3}(?!\d))/g, '$1,');
}

/** Cell contents that mean "not published": no record at all. */
const MISSING = /^(?:|-+|—+|─+|…+|\.{2,}|\/|\\|x|×|n\/a|na|无|空|暂无)$/i;

/** Footnote markers printed after a figure (`5.2*`, `5.2①`), not part of it. */
const FOOTNOTE = /(?:\*+|[①-⑳]|\[\d+\]|\(\d\))$/;

/**
 * Read one table cell: thousands separators, full-width digits, a leading sign and footnote marks
 * are accepted; anything else that is not plainly a decimal number is invalid.
 */
export function parseCell(raw: string): CellValue {
  // Pure and called several times per cell (row, column and header classification): remembered.
  return parsedCells(raw);
}

/**
 * A pure reading of short texts, remembered: tables repeat few distinct texts (cells, labels,
 * units), and the table reader asks about each several times. Texts longer than `maxLength` are
 * read every time; the memo is cleared when it holds `max` texts.
 */
function remembered<T>(read: (text: string) => T, maxLength = Infinity, max = 20_000): (text: string) => T {
  const known = new Map<string, T>();
  return (text) => {
    if (text.length > maxLength) return read(text);
    if (known.has(text)) return known.get(text) as T;
    const value = read(text);
    if (known.size >= max) known.clear();
    known.set(text, value);
    return value;
  };
}

const parsedCells = remembered(readCellValue);

function readCellValue(raw: string): CellValue {
  // A trailing % is the column's unit printed in the cell; the column says what the figure measures.
  const text = normalizeWidth(raw).replace(/\s+/g, '').replace(FOOTNOTE, '').replace(/(?<=\d)%$/, '');
  if (MISSING.test(text)) return { kind: 'missing' };
  const value = toPlainDecimal(text);
  return value === undefined ? { kind: 'invalid', reason: `"${raw.trim()}" is not a number` } : { kind: 'number', value };
}

/**
 * `+1,725.00` → `1725.00`, `-.5` → `-0.5`, `007` → `7`. Undefined for anything else (`1.2.3`,
 * `NaN`, `∞`, `1e5`, `12,34`). Input must already be width-normalised.
 */
export function toPlainDecimal(text: string): string | undefined {
  const match = /^([+-]?)(\d{1,3}(?:,\d{3})+|\d*)(?:\.(\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, sign = '', intPart = '', fraction] = match;
  if (intPart === '' && fraction === undefined) return undefined;
  const integer = intPart.replace(/,/g, '').replace(/^0+(?=\d)/, '') || '0';
  const body = fraction === undefined ? integer : `${integer}.${fraction}`;
  // `-0` and `-0.0` are printed zeros; keep the digits, drop a sign that says nothing.
  const isZero = /^0(\.0+)?$/.test(body);
  return sign === '-' && !isZero ? `-${body}` : body;
}

/** Flip the sign of a plain decimal string (`下降3.2%` → `-3.2`). Zero stays unsigned. */
export function negateDecimal(value: string): string {
  if (value.startsWith('-')) return value.slice(1);
  return /^0(\.0+)?$/.test(value) ? value : `-${value}`;
}

/**
 * Unit words → unit spec. Money: 元/千元/万元/百万元/亿元/万亿元 and yuan with English scale words.
 * `个百分点` / percentage points are `pp`, never percent.
 */
export function parseUnit(word: string): UnitSpec | undefined {
  return parsedUnits(word);
}

function readUnit(word: string): UnitSpec | undefined {
  const text = normalizeWidth(word).replace(/\s+/g, ' ').trim().replace(/^[(（[]|[)）\]]$/g, '').trim();
  const lower = text.toLowerCase();
  if (lower === '') return undefined;
  if (/^(?:个)?百分点$|^percentage points?$|^pp$|^ppts?$/.test(lower)) return { unit: 'pp', unitMult: 0 };
  if (/^%$|^％$|^percent$|^per cent$|^百分比$/.test(lower)) return { unit: 'pct', unitMult: 0 };
  const cny = /^(?:人民币)?(万亿|亿|百万|万|千|)元(?:人民币)?$/.exec(text);
  if (cny) return { unit: 'CNY', unitMult: CHINESE_SCALE[cny[1] ?? ''] ?? 0 };
  const yuan = /^(?:(trillion|billion|million|thousand)\s+)?(?:yuan|rmb|cny)(?:\s+yuan)?$/.exec(lower);
  if (yuan) return { unit: 'CNY', unitMult: ENGLISH_SCALE[yuan[1] ?? ''] ?? 0 };
  const rmbFirst = /^(?:rmb|cny)\s*(trillion|billion|million|thousand)?$/.exec(lower);
  if (rmbFirst) return { unit: 'CNY', unitMult: ENGLISH_SCALE[rmbFirst[1] ?? ''] ?? 0 };
  if (/^(?:个|家|项|户|人|件)$/.test(text)) return { unit: 'count', unitMult: 0 };
  return undefined;
}

// Every cell of a column is asked (numbers included, each its own text): a small memo keeps the few
// unit words without holding thousands of figures in memory.
const parsedUnits = remembered(readUnit, 200, 2_000);

const CHINESE_SCALE: Readonly<Record<string, number>> = { '': 0, 千: 3, 万: 4, 百万: 6, 亿: 8, 万亿: 12 };
const ENGLISH_SCALE: Readonly<Record<string, number>> = { '': 0, thousand: 3, million: 6, billion: 9, trillion: 12 };

/**
 * Read a quantity token: `1725.00亿元`, `5.2%`, `1.5个百分点`, `400 billion yuan`, `2.3万亿`.
 * A bare scale word (亿, 万, billion) gives unitMult without a unit; the caller supplies the unit
 * from the indicator (an output "突破1000亿" is money) or rejects.
 */
export function parseQuantity(numberText: string, unitText = ''): Quantity | undefined {
  const value = toPlainDecimal(normalizeWidth(numberText).replace(/\s+/g, ''));
  if (value === undefined) return undefined;
  const raw = `${numberText}${unitText}`;
  const word = normalizeWidth(unitText).trim().toLowerCase();
  if (word === '') return { value, unitMult: 0, raw };
  const spec = parseUnit(word);
  if (spec) return { value, ...spec, raw };
  const bareScale = CHINESE_SCALE[word] ?? ENGLISH_SCALE[word];
  if (bareScale !== undefined) return { value, unitMult: bareScale, raw };
  return undefined;
}

/**
 * The unit stated in a label or title: `（亿元）`, `(%)`, `单位：万元`, `Unit: 100 million yuan`.
 * Undefined when none is stated.
 */
export function findStatedUnit(text: string): UnitSpec | undefined {
  // Asked of every row label and table title; notes, which can run long, are read each time.
  return statedUnits(text);
}

function readStatedUnit(text: string): UnitSpec | undefined {
  const normal = normalizeWidth(text);
  const declared = /(?:单位|计量单位)\s*[:：]?\s*([^\s,;，；)）]+)/.exec(normal);
  if (declared?.[1]) {
    const spec = parseUnit(declared[1]);
    if (spec) return spec;
  }
  if (/100\s*million\s+yuan/i.test(normal)) return { unit: 'CNY', unitMult: 8 };
  if (/10\s*thousand\s+yuan/i.test(normal)) return { unit: 'CNY', unitMult: 4 };
  for (const match of normal.matchAll(/[([]\s*([^()[\]]{1,12}?)\s*[)\]]/g)) {
    const spec = parseUnit(match[1] ?? '');
    if (spec) return spec;
  }
  return undefined;
}

const statedUnits = remembered(readStatedUnit, 200, 2_000);

/**
 * Multiply a plain decimal string by 10^shift without floating point (`0.052`, 2 → `5.2`). Used
 * for spreadsheet percent formats, where the sheet stores 0.052 and prints 5.2%.
 */
export function shiftDecimal(value: string, shift: number): string {
  const negative = value.startsWith('-');
  const [intPart = '0', fraction = ''] = (negative ? value.slice(1) : value).split('.');
  let digits = intPart + fraction;
  let point = intPart.length + shift;
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  }
  if (point > digits.length) digits = digits.padEnd(point, '0');
  const whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const rest = digits.slice(point).replace(/0+$/, '');
  const result = rest === '' ? whole : `${whole}.${rest}`;
  return negative && !/^0(\.0+)?$/.test(result) ? `-${result}` : result;
}

/**
 * Round a plain decimal string half away from zero to `places` decimals, keeping trailing zeros
 * (`2990.4999999999995`, 1 → `2990.5`; `5`, 2 → `5.00`): what a sheet's `0.00` format prints.
 */
export function roundDecimal(value: string, places: number): string {
  const negative = value.startsWith('-');
  const [intPart = '0', fraction = ''] = (negative ? value.slice(1) : value).split('.');
  const kept = fraction.padEnd(places, '0').slice(0, places);
  const roundUp = (fraction[places] ?? '0') >= '5';
  let digits = (intPart + kept).split('').map(Number);
  if (roundUp) {
    let i = digits.length - 1;
    for (; i >= 0; i -= 1) {
      if ((digits[i] ?? 0) < 9) {
        digits[i] = (digits[i] ?? 0) + 1;
        break;
      }
      digits[i] = 0;
    }
    if (i < 0) digits = [1, ...digits];
  }
  const text = digits.join('');
  const whole = text.slice(0, text.length - places).replace(/^0+(?=\d)/, '') || '0';
  const result = places > 0 ? `${whole}.${text.slice(text.length - places)}` : whole;
  return negative && !/^0(\.0+)?$/.test(result) ? `-${result}` : result;
}
