/**
 * Domain vocabulary shared by every stage. See glossary.md for the words; this file holds their
 * types and the pure helpers on them (periods, units, districts).
 */
import { z } from 'zod';

/** Where a figure applies. `north_south` is the combined Baoshan + Jinshan scope (targets, snapshots). */
export const District = z.enum(['baoshan', 'jinshan', 'shanghai']);
export type District = z.infer<typeof District>;

export const Scope = z.enum(['baoshan', 'jinshan', 'shanghai', 'north_south']);
export type Scope = z.infer<typeof Scope>;

export const Measure = z.enum(['level', 'yoy_pct', 'share_pct', 'pp_change']);
export type Measure = z.infer<typeof Measure>;

export const Accumulation = z.enum(['period', 'ytd']);
export type Accumulation = z.infer<typeof Accumulation>;

/** Basis of a published growth rate: 可比 (comparable prices) vs 同比/现价 (nominal). */
export const GrowthBasis = z.enum(['comparable', 'nominal', 'unknown']);
export type GrowthBasis = z.infer<typeof GrowthBasis>;

export const ObservationStatus = z.enum(['final', 'provisional', 'estimated', 'news']);
export type ObservationStatus = z.infer<typeof ObservationStatus>;

export const SourceFormat = z.enum(['stats-table', 'bulletin', 'news-list', 'news-article', 'xls']);
export type SourceFormat = z.infer<typeof SourceFormat>;

/** Units as stored: CNY at a power-of-ten multiplier, percent, percentage points, or a count. */
export const Unit = z.enum(['CNY', 'pct', 'pp', 'count']);
export type Unit = z.infer<typeof Unit>;

/** Chinese money units and their power-of-ten multiplier of CNY. */
export const CNY_UNIT_MULT: Readonly<Record<string, number>> = {
  元: 0,
  千元: 3,
  万元: 4,
  百万元: 6,
  亿元: 8,
  万亿元: 12,
};

/**
 * SDMX-style period codes: `2024` (year), `2024-H1` (half), `2024-Q3` (quarter), `2024-06` (month).
 * The code names the END of an accumulation: `2025-10` ytd is January–October 2025.
 */
export const PeriodCode = z.string().regex(/^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]))?$/, 'must be YYYY, YYYY-MM, YYYY-Qn or YYYY-Hn');
export type PeriodCode = z.infer<typeof PeriodCode>;

export interface PeriodRange {
  /** First day, ISO date (inclusive). */
  start: string;
  /** Last day, ISO date (inclusive). */
  end: string;
}

const iso = (year: number, month: number, day: number) =>
  `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

const lastDayOfMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Month range [first, last] (1-based) that a period code covers on its own. */
export function periodMonths(code: PeriodCode): { year: number; first: number; last: number } {
  PeriodCode.parse(code);
  const year = Number(code.slice(0, 4));
  const rest = code.slice(5);
  if (rest === '') return { year, first: 1, last: 12 };
  if (rest.startsWith('Q')) {
    const q = Number(rest.slice(1));
    return { year, first: q * 3 - 2, last: q * 3 };
  }
  if (rest.startsWith('H')) {
    const h = Number(rest.slice(1));
    return { year, first: h * 6 - 5, last: h * 6 };
  }
  const month = Number(rest);
  return { year, first: month, last: month };
}

/**
 * Start and end dates of a period. A year-to-date accumulation starts on 1 January whatever the
 * period's own length: `2025-Q3` ytd is 2025-01-01..2025-09-30, `2025-Q3` period is 07-01..09-30.
 */
export function periodRange(code: PeriodCode, accumulation: Accumulation = 'period'): PeriodRange {
  const { year, first, last } = periodMonths(code);
  const startMonth = accumulation === 'ytd' ? 1 : first;
  return { start: iso(year, startMonth, 1), end: iso(year, last, lastDayOfMonth(year, last)) };
}

/** The calendar year of a period code. */
export function periodYear(code: PeriodCode): number {
  return Number(code.slice(0, 4));
}
