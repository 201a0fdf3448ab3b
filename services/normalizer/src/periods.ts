/**
 * Period labels as publishers print them → (period code, accumulation).
 *
 * A label is first read into a span (which months of which year, cumulated or not), and only
 * then turned into a code, because the code depends on the indicator's frequency:
 *
 * - Monthly indicators (industrial output, retail sales, investment, budget revenue …): a
 *   cumulative span 1–N月 is `YYYY-MM` ytd whatever the label says — `1-9月`, `前三季度` and
 *   `1至9月` all give `2025-09` ytd, `上半年` gives `2025-06` ytd — so one series per indicator.
 * - Quarterly indicators (GDP and the value added of industries, which are only compiled per
 *   quarter): a cumulative span ending in March / June / September is `YYYY-Q1` / `YYYY-H1` /
 *   `YYYY-Q3` ytd (`一季度` is Q1 ytd as well, so the cumulative series has one shape).
 * - A cumulative January–December (`1-12月`, 本年累计 in a December table) stays `YYYY-12` ytd for
 *   monthly indicators, like every other 1–N月 column, and is `YYYY` (period) for quarterly ones.
 * - A year named as such (`全年`, `2024年`, a bulletin's year) is `YYYY` with accumulation
 *   `period` for every indicator.
 * - A single month (`10月`, `本月`, `当月`) is `YYYY-MM` period; a single quarter (`二季度`,
 *   `第四季度`) is `YYYY-Qn` period; `下半年` is `YYYY-H2` period.
 * - `1-2月` published together stays ytd `YYYY-02` (January is not published on its own).
 */
import type { Accumulation, PeriodCode } from '@nst/shared/domain';
import { normalizeWidth } from './numbers';

export type Frequency = 'monthly' | 'quarterly';

/** A span of months of one year, as read from a label, before it becomes a code. */
export type PeriodSpan =
  /** January to `month`, cumulated. */
  | { kind: 'ytd'; year?: number; month: number }
  /** One month on its own. */
  | { kind: 'month'; year?: number; month: number }
  /** One quarter on its own (`二季度`); Q1 is read as ytd. */
  | { kind: 'quarter'; year?: number; quarter: number }
  /** The second half on its own (`下半年`). */
  | { kind: 'half'; year?: number; half: 2 }
  /** A whole year. */
  | { kind: 'year'; year?: number }
  /** `本月` / `当月` / `累计`: the report month of the table, which the caller knows. */
  | { kind: 'current-month'; year?: number }
  | { kind: 'current-ytd'; year?: number };

export interface PeriodRef {
  period: PeriodCode;
  accumulation: Accumulation;
}

const CHINESE_NUMERAL: Readonly<Record<string, number>> = {
  一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10, 十一: 11, 十二: 12,
};

const ENGLISH_MONTH: Readonly<Record<string, number>> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6,
  july: 7, august: 8, september: 9, october: 10, november: 11, december: 12,
  jan: 1, feb: 2, mar: 3, apr: 4, jun: 6, jul: 7, aug: 8, sep: 9, sept: 9, oct: 10, nov: 11, dec: 12,
};

function readNumeral(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  return CHINESE_NUMERAL[text];
}

const DASH = '[-~～—–至到]';

/** The four-digit year printed in a text (`2025年`, `2025-10`), the first one found. */
export function findYear(text: string): number | undefined {
  const match = /(?<!\d)(20\d{2}|19\d{2})(?:\s*年|(?=\s*[-/.]\s*\d{1,2}(?!\d))|(?!\d))/.exec(normalizeWidth(text));
  return match ? Number(match[1]) : undefined;
}

/**
 * Read a period label into a span, or undefined when it names no period. The year is taken from
 * the label when printed there; otherwise the span has none and the caller adds the context's.
 */
export function readPeriodSpan(label: string): PeriodSpan | undefined {
  const text = normalizeWidth(label).replace(/\s+/g, '');
  const year = findYear(text);
  const withYear = <T extends PeriodSpan>(span: T): T => (year === undefined ? span : { ...span, year });

  const range = new RegExp(`(?<!\\d)(1|一)(?:月份?)?${DASH}(\\d{1,2}|十[一二]?|[二三四五六七八九])月`).exec(text);
  if (range?.[2]) {
    const month = readNumeral(range[2]);
    if (month && month >= 1 && month <= 12) return withYear({ kind: 'ytd', month });
  }
  if (/前三季度|1-3季度|一至三季度/.test(text)) return withYear({ kind: 'ytd', month: 9 });
  if (/上半年|1-2季度|一至二季度/.test(text)) return withYear({ kind: 'ytd', month: 6 });
  if (/下半年/.test(text)) return withYear({ kind: 'half', half: 2 });
  const quarter = /(?:第)?([1-4一二三四])季度/.exec(text);
  if (quarter?.[1]) {
    const q = readNumeral(quarter[1]) ?? 0;
    return withYear(q === 1 ? { kind: 'ytd', month: 3 } : { kind: 'quarter', quarter: q });
  }
  const quarterCode = /(?<![A-Za-z])Q([1-4])(?![0-9])/i.exec(text);
  if (quarterCode?.[1]) {
    const q = Number(quarterCode[1]);
    return withYear(q === 1 ? { kind: 'ytd', month: 3 } : { kind: 'quarter', quarter: q });
  }
  if (/全年|年度/.test(text)) return withYear({ kind: 'year' });
  if (/本月|当月|本期/.test(text)) return withYear({ kind: 'current-month' });
  if (/累计|本年|今年以来|年初至今|自年初/.test(text)) return withYear({ kind: 'current-ytd' });
  const month = /(?<![\d-])(\d{1,2}|十[一二]?|[一二三四五六七八九])月(?!份?\d)/.exec(text);
  if (month?.[1]) {
    const m = readNumeral(month[1]);
    if (m && m >= 1 && m <= 12) return withYear({ kind: 'month', month: m });
  }
  const isoMonth = /(?<!\d)(20\d{2})[-/.](\d{1,2})(?![\d.])/.exec(text);
  if (isoMonth?.[2]) {
    const m = Number(isoMonth[2]);
    if (m >= 1 && m <= 12) return { kind: 'month', year: Number(isoMonth[1]), month: m };
  }
  if (year !== undefined && new RegExp(`${year}年?$`).test(text)) return { kind: 'year', year };
  return undefined;
}

/**
 * English period wording in a sentence: "in the first three quarters", "in the first half",
 * "last year", "in 2024", "January to October", "from January to October 2025".
 */
export function readEnglishPeriodSpan(sentence: string, publishedYear?: number): PeriodSpan | undefined {
  const text = sentence.toLowerCase();
  const yearMatch = /\b(20\d{2})\b/.exec(text);
  const year = yearMatch ? Number(yearMatch[1]) : /\blast year\b|\bprevious year\b/.test(text) && publishedYear ? publishedYear - 1 : undefined;
  const withYear = <T extends PeriodSpan>(span: T): T => (year === undefined ? span : { ...span, year });
  const months = /\b(?:from\s+)?january\s+(?:to|through|-)\s+([a-z]+)\b/.exec(text);
  const end = months?.[1] ? ENGLISH_MONTH[months[1]] : undefined;
  if (end) return withYear({ kind: 'ytd', month: end });
  if (/first three quarters/.test(text)) return withYear({ kind: 'ytd', month: 9 });
  if (/first half/.test(text)) return withYear({ kind: 'ytd', month: 6 });
  if (/first quarter/.test(text)) return withYear({ kind: 'ytd', month: 3 });
  if (/\bin (?:the year )?20\d{2}\b|\blast year\b|\bfor the (?:whole|full) year\b|\bfull-year\b|\bannual\b/.test(text) && year !== undefined) {
    return { kind: 'year', year };
  }
  return undefined;
}

export interface ResolveContext {
  /** Year of the table / title / publication, used when the label prints none. */
  year?: number;
  /** Report month of the table (the N of its 1–N月 title), for 本月 / 累计 columns. */
  reportMonth?: number;
  frequency: Frequency;
}

/**
 * Turn a span into its code under the rules at the top of this file. Undefined when the year
 * (or, for 本月/累计, the report month) is not known: the caller rejects `unknown_period`.
 */
export function toPeriodRef(span: PeriodSpan, context: ResolveContext): PeriodRef | undefined {
  const year = span.year ?? context.year;
  if (year === undefined) return undefined;
  switch (span.kind) {
    case 'year':
      return { period: `${year}`, accumulation: 'period' };
    case 'half':
      return { period: `${year}-H2`, accumulation: 'period' };
    case 'quarter':
      return { period: `${year}-Q${span.quarter}`, accumulation: 'period' };
    case 'month':
      return { period: monthCode(year, span.month), accumulation: 'period' };
    case 'current-month':
      return context.reportMonth === undefined ? undefined : { period: monthCode(year, context.reportMonth), accumulation: 'period' };
    case 'current-ytd':
      return context.reportMonth === undefined ? undefined : cumulativeRef(year, context.reportMonth, context.frequency);
    case 'ytd':
      return cumulativeRef(year, span.month, context.frequency);
  }
}

function cumulativeRef(year: number, month: number, frequency: Frequency): PeriodRef {
  if (frequency === 'quarterly') {
    if (month === 12) return { period: `${year}`, accumulation: 'period' };
    if (month === 3) return { period: `${year}-Q1`, accumulation: 'ytd' };
    if (month === 6) return { period: `${year}-H1`, accumulation: 'ytd' };
    if (month === 9) return { period: `${year}-Q3`, accumulation: 'ytd' };
  }
  return { period: monthCode(year, month), accumulation: 'ytd' };
}

function monthCode(year: number, month: number): PeriodCode {
  return `${year}-${String(month).padStart(2, '0')}`;
}

/** The last month a span covers, when it says (for the report month of a table). */
export function spanEndMonth(span: PeriodSpan): number | undefined {
  switch (span.kind) {
    case 'ytd':
    case 'month':
      return span.month;
    case 'quarter':
      return span.quarter * 3;
    case 'half':
    case 'year':
      return 12;
    default:
      return undefined;
  }
}

/**
 * The year a table's unlabelled period belongs to when only the publication date is known:
 * a "1-12月" table published in January belongs to the year before.
 */
export function inferYearFromPublication(publishedAt: Date, reportMonth?: number): number {
  const year = publishedAt.getUTCFullYear();
  const month = publishedAt.getUTCMonth() + 1;
  return reportMonth !== undefined && reportMonth >= month ? year - 1 : year;
}

/**
 * The last period a Chinese sentence names before a given point ("上半年，全区实现…",
 * "2024年1-10月，…"), for the figures that follow it. Relative years (今年, 去年) are resolved
 * against `referenceYear` (the publication year). A year that a comparison names ("比2020年",
 * "较上年") is not the period of the figure.
 */
export function findLastPeriodMention(text: string, referenceYear?: number): PeriodSpan | undefined {
  const pattern = /(?<![比较与从自至到])((?:(?:19|20)\d{2}|今|去|上)年)?(1[-~～—–至到]\d{1,2}月(?:份)?|一至[一二三四五六七八九十]+月|前三季度|上半年|下半年|[一二三四1-4]季度|全年|\d{1,2}月份?)|(?<![比较与从自至到])((?:19|20)\d{2}|今|去)年(?![底末初以的]|\d|来|度目标)/g;
  let last: PeriodSpan | undefined;
  for (const match of normalizeWidth(text).matchAll(pattern)) {
    const yearWord = match[1] ?? (match[3] ? `${match[3]}年` : undefined);
    const year = resolveYearWord(yearWord, referenceYear);
    const body = match[2];
    const span = body ? readPeriodSpan(body) : { kind: 'year' as const };
    if (!span) continue;
    last = year === undefined ? span : { ...span, year };
  }
  return last;
}

function resolveYearWord(word: string | undefined, referenceYear: number | undefined): number | undefined {
  if (!word) return undefined;
  const digits = /^(\d{4})年$/.exec(word);
  if (digits) return Number(digits[1]);
  if (referenceYear === undefined) return undefined;
  if (word === '今年') return referenceYear;
  if (word === '去年' || word === '上年') return referenceYear - 1;
  return undefined;
}
