/**
 * Progress toward one target from the observation vintages known at one instant: pure functions,
 * no I/O. Every figure is taken at its published value and scaled to the target's unit; a missing
 * figure is missing (status `insufficient_data`), never 0.
 */
import Decimal from 'decimal.js';
import { mapped } from '@nst/shared/arrays';
import { periodRange, periodYear } from '@nst/shared/domain';

export interface Vintage {
  id: number;
  district: 'baoshan' | 'jinshan' | 'shanghai';
  measure: string;
  accumulation: 'period' | 'ytd';
  period: string;
  value: string;
  unitMult: number;
  status: string;
  basis: string;
  validFrom: Date;
  url: string;
}

export interface TargetDef {
  release: string;
  key: string;
  scope: 'baoshan' | 'jinshan' | 'shanghai' | 'north_south';
  indicator: string;
  kind: 'level' | 'growth_above_city' | 'share_of_city_increment' | 'tracked';
  value: string | null;
  unit: string;
  unitMult: number;
  baseYear: number;
  targetYear: number;
  /** May the districts' levels be summed (catalog `additive`)? */
  additive: boolean;
}

export type SnapshotStatus = 'achieved' | 'on_track' | 'behind' | 'missed' | 'insufficient_data' | 'tracked';

export interface SnapshotValues {
  actualValue: string | null;
  actualPeriod: string | null;
  actualAccumulation: 'period' | 'ytd' | null;
  partial: boolean;
  actualStatus: string | null;
  baseValue: string | null;
  progressPct: string | null;
  gap: string | null;
  cagrRealisedPct: string | null;
  cagrRequiredPct: string | null;
  projectedValue: string | null;
  status: SnapshotStatus;
  detail: Record<string, unknown>;
  /** Ids of the vintages the numbers above were computed from. */
  inputIds: number[];
}

/** The scopes whose observations a target reads. */
export function inputDistricts(target: Pick<TargetDef, 'scope' | 'kind'>): Array<Vintage['district']> {
  if (target.kind === 'growth_above_city' || target.kind === 'share_of_city_increment') return ['baoshan', 'jinshan', 'shanghai'];
  if (target.scope === 'north_south') return ['baoshan', 'jinshan'];
  return [target.scope];
}

/** The measures whose observations a target reads: published growth only for the growth comparison. */
export function inputMeasures(target: Pick<TargetDef, 'kind'>): string[] {
  return target.kind === 'growth_above_city' ? ['level', 'yoy_pct'] : ['level'];
}

/** Shared between instants (see {@link levelPoint}): never changed once made. */
interface Point {
  readonly value: Decimal;
  readonly period: string;
  readonly accumulation: 'period' | 'ytd';
  readonly status: string;
  readonly ids: readonly number[];
}

const STATUS_RANK: Record<string, number> = { final: 0, provisional: 1, estimated: 2, news: 3 };
/** The weakest status of combined figures: a sum of a final and a provisional figure is provisional. */
const weakest = (a: string, b: string) => ((STATUS_RANK[a] ?? 9) >= (STATUS_RANK[b] ?? 9) ? a : b);

const fmt = (d: Decimal | null, places = 4): string | null => (d === null || !d.isFinite() ? null : d.toDecimalPlaces(places).toFixed());

/**
 * What computeSnapshot makes of a vintage (its figure parsed; as a level, its series key and its
 * point in a target's unit), made once per vintage object: a history computes every instant from
 * mostly the same vintages. Decimals and points are immutable, so sharing them is safe; an entry
 * is used only while the vintage still holds what it was made from.
 */
interface Figure {
  value: string;
  decimal: Decimal;
  level?: { id: number; period: string; accumulation: Vintage['accumulation']; status: string; exponent: number; key: string; point: Point };
}
const figures = new WeakMap<Vintage, Figure>();

function figureOf(v: Vintage): Figure {
  let figure = figures.get(v);
  if (figure === undefined || figure.value !== v.value) {
    figure = { value: v.value, decimal: new Decimal(v.value) };
    figures.set(v, figure);
  }
  return figure;
}

const powersOfTen = new Map<number, Decimal>();
const powerOfTen = (exponent: number): Decimal => {
  let power = powersOfTen.get(exponent);
  if (power === undefined) {
    power = new Decimal(10).pow(exponent);
    powersOfTen.set(exponent, power);
  }
  return power;
};

/** A level vintage as a point of its series, keyed `${period}|${accumulation}`, scaled to the target's unit. */
function levelPoint(v: Vintage, unitMult: number): { key: string; point: Point } {
  const figure = figureOf(v);
  const exponent = v.unitMult - unitMult;
  const level = figure.level;
  if (level && level.exponent === exponent && level.id === v.id && level.period === v.period && level.accumulation === v.accumulation
    && level.status === v.status) return level;
  const point: Point = { value: figure.decimal.times(powerOfTen(exponent)), period: v.period, accumulation: v.accumulation, status: v.status, ids: [v.id] };
  figure.level = { id: v.id, period: v.period, accumulation: v.accumulation, status: v.status, exponent, key: `${v.period}|${v.accumulation}`, point };
  return figure.level;
}

/** Levels of one district (or the two combined), keyed `${period}|${accumulation}`, in the target's unit. */
function levelSeries(vintages: readonly Vintage[], districts: ReadonlyArray<Vintage['district']>, target: TargetDef): Map<string, Point> {
  const byDistrict = new Map<string, Map<string, Point>>();
  for (const v of vintages) {
    if (v.measure !== 'level' || !districts.includes(v.district)) continue;
    const { key, point } = levelPoint(v, target.unitMult);
    const series = byDistrict.get(v.district) ?? new Map<string, Point>();
    series.set(key, point);
    byDistrict.set(v.district, series);
  }
  if (districts.length === 1) return byDistrict.get(districts[0]!) ?? new Map();
  // Combined scope: only additive indicators, only where every district has the same period and accumulation.
  const combined = new Map<string, Point>();
  if (!target.additive) return combined;
  // Indexed loops, every point made by one literal (levelPoint's, sumOf's), and the series by
  // `mapped` (@nst/shared/arrays): through a destructuring with a rest element, arrays of
  // points-or-undefined and a reduce, the optimized code of this function was thrown away ("wrong
  // map") from a few to 68 times a benchmark run.
  const series = mapped(districts, (d) => byDistrict.get(d) ?? new Map<string, Point>());
  for (const [key, point] of series[0]!) {
    let complete = true;
    for (let i = 1; i < series.length && complete; i += 1) complete = series[i]!.has(key);
    if (!complete) continue;
    let sum = point;
    for (let i = 1; i < series.length; i += 1) sum = sumOf(sum, series[i]!.get(key)!);
    combined.set(key, sum);
  }
  return combined;
}

/** Sums already made, by the points summed: the instants of a history combine the same points. */
const sums = new WeakMap<Point, WeakMap<Point, Point>>();

function sumOf(a: Point, b: Point): Point {
  let withA = sums.get(a);
  if (withA === undefined) {
    withA = new WeakMap();
    sums.set(a, withA);
  }
  let sum = withA.get(b);
  if (sum === undefined) {
    sum = { value: a.value.plus(b.value), period: a.period, accumulation: a.accumulation, status: weakest(a.status, b.status), ids: [...a.ids, ...b.ids] };
    withA.set(b, sum);
  }
  return sum;
}

/** The annual figure of `year`: the year itself, else a January–December year-to-date figure. */
function annual(series: Map<string, Point>, year: number): Point | undefined {
  return series.get(`${year}|period`) ?? series.get(`${year}-12|ytd`) ?? series.get(`${year}-Q4|ytd`) ?? series.get(`${year}-H2|ytd`);
}

/** Last day of a year-to-date period, by code: the few codes of a target's years, each validated once. */
const ytdEnds = new Map<string, string>();
function ytdEnd(period: string): string {
  let end = ytdEnds.get(period);
  if (end === undefined) {
    end = periodRange(period, 'ytd').end;
    if (ytdEnds.size >= 10_000) ytdEnds.clear();
    ytdEnds.set(period, end);
  }
  return end;
}

/** The latest year-to-date figure of a year (by period end). */
function latestYtd(series: Map<string, Point>, year: number): Point | undefined {
  let best: Point | undefined;
  for (const point of series.values()) {
    if (point.accumulation !== 'ytd' || periodYear(point.period) !== year) continue;
    if (!best || ytdEnd(point.period) > ytdEnd(best.period)) best = point;
  }
  return best;
}

function latestAnnualYear(series: Map<string, Point>, upTo: number, from: number): number | undefined {
  for (let year = upTo; year >= from; year -= 1) if (annual(series, year)) return year;
  return undefined;
}

/** Rates already computed, by their operands (immutable): the instants of a history share their annual figures. */
const cagrs = new WeakMap<Decimal, WeakMap<Decimal, Map<number, Decimal | null>>>();

function cagr(from: Decimal, to: Decimal, years: number): Decimal | null {
  let withFrom = cagrs.get(from);
  if (withFrom === undefined) {
    withFrom = new WeakMap();
    cagrs.set(from, withFrom);
  }
  let byYears = withFrom.get(to);
  if (byYears === undefined) {
    byYears = new Map();
    withFrom.set(to, byYears);
  }
  let rate = byYears.get(years);
  if (rate === undefined) {
    rate = years > 0 && from.gt(0) && to.gt(0) ? to.div(from).pow(new Decimal(1).div(years)).minus(1).times(100) : null;
    byYears.set(years, rate);
  }
  return rate;
}

/** Goals by their text: one Decimal per target value, so rates toward a goal are computed once. */
const goals = new Map<string, Decimal>();
function goalOf(value: string): Decimal {
  let goal = goals.get(value);
  if (goal === undefined) {
    goal = new Decimal(value);
    if (goals.size >= 1_000) goals.clear();
    goals.set(value, goal);
  }
  return goal;
}

function empty(status: SnapshotStatus, detail: Record<string, unknown> = {}): SnapshotValues {
  return {
    actualValue: null, actualPeriod: null, actualAccumulation: null, partial: false, actualStatus: null, baseValue: null,
    progressPct: null, gap: null, cagrRealisedPct: null, cagrRequiredPct: null, projectedValue: null, status, detail, inputIds: [],
  };
}

function computeLevel(target: TargetDef, vintages: readonly Vintage[]): SnapshotValues {
  const series = levelSeries(vintages, inputDistricts(target), target);
  const base = annual(series, target.baseYear);
  const lastYear = latestAnnualYear(series, target.targetYear, target.baseYear);
  const last = lastYear === undefined ? undefined : annual(series, lastYear)!;
  // The figure shown: the target year's annual figure, else the newest year-to-date after the last annual one.
  let actual = last;
  let partial = false;
  for (let year = target.targetYear; year > (lastYear ?? target.baseYear - 1); year -= 1) {
    const ytd = latestYtd(series, year);
    if (ytd) {
      actual = ytd;
      partial = true;
      break;
    }
  }
  if (!actual) return empty(target.kind === 'tracked' ? 'tracked' : 'insufficient_data', { reason: 'no figure for the target scope' });
  const goal = target.value === null ? null : goalOf(target.value);
  const realised = base && last && lastYear! > target.baseYear ? cagr(base.value, last.value, lastYear! - target.baseYear) : null;
  const yearsLeft = lastYear === undefined ? null : target.targetYear - lastYear;
  const required = goal && last && yearsLeft !== null && yearsLeft > 0 ? cagr(last.value, goal, yearsLeft) : null;
  const projected = last && realised !== null && yearsLeft !== null ? last.value.times(realised.div(100).plus(1).pow(Math.max(yearsLeft, 0))) : null;
  let status: SnapshotStatus;
  if (target.kind === 'tracked' || !goal) status = 'tracked';
  else if (last && last.value.gte(goal)) status = 'achieved';
  else if (lastYear !== undefined && lastYear >= target.targetYear) status = 'missed';
  else if (projected) status = projected.gte(goal) ? 'on_track' : 'behind';
  else status = 'insufficient_data';
  const ids = [...new Set([...(actual.ids), ...(base?.ids ?? []), ...(last?.ids ?? [])])].sort((a, b) => a - b);
  return {
    actualValue: fmt(actual.value),
    actualPeriod: actual.period,
    actualAccumulation: actual.accumulation,
    partial,
    actualStatus: actual.status,
    baseValue: fmt(base?.value ?? null),
    progressPct: goal && !partial ? fmt(actual.value.div(goal).times(100), 2) : goal && last ? fmt(last.value.div(goal).times(100), 2) : null,
    gap: goal ? fmt(goal.minus(partial && last ? last.value : actual.value)) : null,
    cagrRealisedPct: fmt(realised, 2),
    cagrRequiredPct: fmt(required, 2),
    projectedValue: fmt(projected, 2),
    status,
    detail: { lastAnnualYear: lastYear ?? null, lastAnnualValue: fmt(last?.value ?? null) },
    inputIds: ids,
  };
}

/** Published comparable growth of one district per year (annual figures only). */
function growthByYear(vintages: readonly Vintage[], district: Vintage['district']): Map<number, { pct: Decimal; id: number }> {
  const out = new Map<number, { pct: Decimal; id: number }>();
  for (const v of vintages) {
    if (v.district !== district || v.measure !== 'yoy_pct' || !/^\d{4}$/.test(v.period) || v.accumulation !== 'period') continue;
    if (v.basis === 'nominal') continue; // GDP growth goals are in comparable prices
    out.set(Number(v.period), { pct: figureOf(v).decimal, id: v.id });
  }
  return out;
}

function computeGrowthAboveCity(target: TargetDef, vintages: readonly Vintage[]): SnapshotValues {
  const bs = growthByYear(vintages, 'baoshan');
  const js = growthByYear(vintages, 'jinshan');
  const sh = growthByYear(vintages, 'shanghai');
  const levels = { baoshan: levelSeries(vintages, ['baoshan'], target), jinshan: levelSeries(vintages, ['jinshan'], target) };
  const years: number[] = [];
  const ids: number[] = [];
  let districtsIndex = new Decimal(1);
  let cityIndex = new Decimal(1);
  const perYear: Array<Record<string, string | number | null>> = [];
  for (let year = target.baseYear + 1; year <= target.targetYear; year += 1) {
    const b = bs.get(year);
    const j = js.get(year);
    const c = sh.get(year);
    const wb = annual(levels.baoshan, year - 1);
    const wj = annual(levels.jinshan, year - 1);
    if (!b || !j || !c || !wb || !wj) break; // consecutive years only: a gap ends the comparison
    // The two districts' combined growth: their growth rates weighted by the previous year's levels.
    const combined = b.pct.times(wb.value).plus(j.pct.times(wj.value)).div(wb.value.plus(wj.value));
    districtsIndex = districtsIndex.times(combined.div(100).plus(1));
    cityIndex = cityIndex.times(c.pct.div(100).plus(1));
    years.push(year);
    ids.push(b.id, j.id, c.id, ...wb.ids, ...wj.ids);
    perYear.push({ year, northSouthPct: fmt(combined, 2), cityPct: c.pct.toFixed() });
  }
  if (years.length === 0) return empty('insufficient_data', { reason: 'no year with comparable growth for both districts and the city' });
  const n = years.length;
  const districtsAvg = districtsIndex.pow(new Decimal(1).div(n)).minus(1).times(100);
  const cityAvg = cityIndex.pow(new Decimal(1).div(n)).minus(1).times(100);
  const ahead = districtsAvg.gt(cityAvg);
  const last = years[n - 1]!;
  const status: SnapshotStatus = last >= target.targetYear ? (ahead ? 'achieved' : 'missed') : ahead ? 'on_track' : 'behind';
  return {
    ...empty(status),
    actualValue: fmt(districtsAvg, 2),
    actualPeriod: String(last),
    actualAccumulation: 'period',
    actualStatus: 'final',
    gap: fmt(districtsAvg.minus(cityAvg), 2),
    status,
    detail: { cityAvgGrowthPct: fmt(cityAvg, 2), northSouthAvgGrowthPct: fmt(districtsAvg, 2), years, perYear },
    inputIds: [...new Set(ids)].sort((a, b) => a - b),
  };
}

function computeShareOfCityIncrement(target: TargetDef, vintages: readonly Vintage[]): SnapshotValues {
  const ns = levelSeries(vintages, ['baoshan', 'jinshan'], target);
  const city = levelSeries(vintages, ['shanghai'], target);
  const nsBase = annual(ns, target.baseYear);
  const cityBase = annual(city, target.baseYear);
  let year: number | undefined;
  for (let y = target.targetYear; y > target.baseYear; y -= 1) {
    if (annual(ns, y) && annual(city, y)) {
      year = y;
      break;
    }
  }
  if (!nsBase || !cityBase || year === undefined) return empty('insufficient_data', { reason: 'need annual levels of both districts and the city for the base year and a later year' });
  const nsNow = annual(ns, year)!;
  const cityNow = annual(city, year)!;
  const nsIncrease = nsNow.value.minus(nsBase.value);
  const cityIncrease = cityNow.value.minus(cityBase.value);
  const goal = new Decimal(target.value ?? '0');
  const ids = [...nsBase.ids, ...cityBase.ids, ...nsNow.ids, ...cityNow.ids].sort((a, b) => a - b);
  const detail = { year, northSouthIncrease: fmt(nsIncrease), cityIncrease: fmt(cityIncrease), northSouthValue: fmt(nsNow.value), cityValue: fmt(cityNow.value) };
  if (cityIncrease.lte(0)) return { ...empty('insufficient_data', { ...detail, reason: 'the city\'s output did not increase: no share of an increment' }), inputIds: ids };
  const share = nsIncrease.div(cityIncrease).times(100);
  const met = share.gte(goal);
  const status: SnapshotStatus = year >= target.targetYear ? (met ? 'achieved' : 'missed') : met ? 'on_track' : 'behind';
  return {
    ...empty(status),
    actualValue: fmt(share, 2),
    actualPeriod: String(year),
    actualAccumulation: 'period',
    actualStatus: weakest(weakest(nsNow.status, cityNow.status), weakest(nsBase.status, cityBase.status)),
    progressPct: goal.gt(0) ? fmt(share.div(goal).times(100), 2) : null,
    gap: fmt(goal.minus(share), 2),
    status,
    detail,
    inputIds: ids,
  };
}

export function computeSnapshot(target: TargetDef, vintages: readonly Vintage[]): SnapshotValues {
  switch (target.kind) {
    case 'level':
    case 'tracked':
      return computeLevel(target, vintages);
    case 'growth_above_city':
      return computeGrowthAboveCity(target, vintages);
    case 'share_of_city_increment':
      return computeShareOfCityIncrement(target, vintages);
  }
}
