import type { Pool } from '@nst/shared/db';

/** One current observation from agg.series, dates as ISO strings. */
export interface SeriesRow {
  district: string;
  indicator: string;
  measure: string;
  accumulation: string;
  period: string;
  period_start: string;
  period_end: string;
  basis: string;
  value: string;
  raw_value: string;
  unit: string;
  unit_mult: number;
  status: string;
  valid_from: Date;
  source_url: string;
  locator: string;
  document_id: number;
  observation_id: number;
}

export const SERIES_COLUMNS: ReadonlyArray<keyof SeriesRow> = [
  'district', 'indicator', 'measure', 'accumulation', 'period', 'period_start', 'period_end', 'basis', 'value',
  'raw_value', 'unit', 'unit_mult', 'status', 'valid_from', 'source_url', 'locator', 'document_id', 'observation_id',
];

export interface SelectSeriesOptions {
  districts?: readonly string[];
  indicators?: readonly string[];
  measure?: string;
  accumulation?: string;
  /** Keep periods ending on or after this date (ISO). */
  endFrom?: string;
  /** Keep periods ending on or before this date (ISO). */
  endBy?: string;
}

export async function selectSeries(pool: Pool, options: SelectSeriesOptions = {}): Promise<SeriesRow[]> {
  const { rows } = await pool.query<SeriesRow>(
    `SELECT district, indicator, measure, accumulation, period, period_start::text, period_end::text, basis,
            value::text, raw_value, unit, unit_mult, status, valid_from, source_url, locator, document_id, observation_id
     FROM agg.series
     WHERE ($1::text[] IS NULL OR district = ANY($1))
       AND ($2::text[] IS NULL OR indicator = ANY($2))
       AND ($3::text IS NULL OR measure = $3)
       AND ($4::text IS NULL OR accumulation = $4)
       AND ($5::date IS NULL OR period_end >= $5)
       AND ($6::date IS NULL OR period_end <= $6)
     ORDER BY indicator, district, measure, accumulation, period_end, period_start`,
    [
      options.districts ?? null,
      options.indicators ?? null,
      options.measure ?? null,
      options.accumulation ?? null,
      options.endFrom ?? null,
      options.endBy ?? null,
    ],
  );
  return rows;
}
