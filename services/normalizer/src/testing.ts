/**
 * Helpers for the normalizer's tests: the real catalog from seeds/indicators.yaml and the fixture
 * pages of seeds/fixtures/. Not used by the service itself.
 */
import { readFileSync } from 'node:fs';
import { SEEDS_DIR, loadSeeds } from '@nst/shared/seeds';
import { buildIndicatorCatalog, type IndicatorCatalog } from './indicators';
import type { ObservationRecord, ParsedRecord, RejectRecord } from './records';

let catalog: Promise<IndicatorCatalog> | undefined;

/** The catalog built from the project's seed files, loaded once per test file. */
export function loadTestCatalog(): Promise<IndicatorCatalog> {
  catalog ??= loadSeeds().then((seeds) => buildIndicatorCatalog(seeds.indicators));
  return catalog;
}

/** The bytes of a case page in seeds/fixtures/cases/. */
export function readCase(name: string): Buffer {
  return readFileSync(`${SEEDS_DIR}/fixtures/cases/${name}`);
}

/** The fields of an observation that a test pins (everything but locator and rawValue). */
export type Figure = Pick<ObservationRecord, 'district' | 'indicator' | 'measure' | 'accumulation' | 'period' | 'value' | 'unit' | 'unitMult' | 'status' | 'basis'>;

export function figuresOf(records: ParsedRecord[]): Figure[] {
  return records
    .filter((record): record is ObservationRecord => record.kind === 'observation')
    .map(({ district, indicator, measure, accumulation, period, value, unit, unitMult, status, basis }) => ({
      district, indicator, measure, accumulation, period, value, unit, unitMult, status, basis,
    }));
}

export function rejectsOf(records: ParsedRecord[]): RejectRecord[] {
  return records.filter((record): record is RejectRecord => record.kind === 'reject');
}

/** Shorthand for an expected figure row: [indicator, measure, accumulation, period, value, unit, unitMult, status?, basis?]. */
export function figure(
  district: Figure['district'],
  indicator: string,
  measure: Figure['measure'],
  accumulation: Figure['accumulation'],
  period: string,
  value: string,
  unit: Figure['unit'],
  unitMult: number,
  status: Figure['status'] = 'final',
  basis: Figure['basis'] = 'unknown',
): Figure {
  return { district, indicator, measure, accumulation, period, value, unit, unitMult, status, basis };
}

type FigureArgs = Parameters<typeof figure> extends [unknown, ...infer Rest] ? Rest : never;

/** `figure` with the district fixed: `const b = figureIn('baoshan'); b('gdp', 'level', …)`. */
export function figureIn(district: Figure['district']): (...args: FigureArgs) => Figure {
  return (...args) => figure(district, ...args);
}
