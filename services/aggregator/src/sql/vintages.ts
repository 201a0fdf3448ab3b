import type { PoolClient } from '@nst/shared/db';
import type { Vintage } from '../compute';

export interface VintageWithValidity extends Vintage {
  validTo: Date | null;
}

/** What {@link loadVintages} reads; the job takes each from the target (inputDistricts, inputMeasures, inputYears). */
export interface LoadVintagesOptions {
  indicator: string;
  districts: ReadonlyArray<Vintage['district']>;
  /** Measures read in the window; the first vintage is looked up among `level` and `yoy_pct` whatever this says. */
  measures: readonly string[];
  /** Years of the periods read, both inclusive. */
  years: { from: number; to: number };
}

// Period codes start with their four-digit year: a text range is a year range.
const yearCode = (year: number) => String(year).padStart(4, '0');

const LOAD_VINTAGES = `
  WITH in_window AS MATERIALIZED (
    -- Materialized so measure is filtered after the scan: the only index bounding every condition
    -- here is (indicator, district, period), whatever the statistics say (with none, the planner
    -- once preferred (indicator, district, measure, …) and filtered thousands of rows by period).
    -- The window holds every vintage of each key in it, so a vintage's end (the next one's start,
    -- core.observation_vintage) is found among them.
    SELECT id, district, measure, accumulation, period, value, unit_mult, status, basis, valid_from,
           lead(valid_from) OVER (PARTITION BY district, period, measure, accumulation ORDER BY valid_from) AS valid_to, url
    FROM core.observation
    WHERE indicator = $1 AND district = ANY($2::text[]) AND period >= $4 AND period < $5),
  first_vintage AS (
    -- One probe of observation_series_valid_from_idx per (district, measure): LIMIT 1 in index order;
    -- its end (core.observation_vintage) one probe of the key's unique index, for that row only.
    SELECT o.* FROM unnest($2::text[]) AS d(district) CROSS JOIN unnest('{level,yoy_pct}'::text[]) AS m(measure)
    CROSS JOIN LATERAL (
      SELECT id, district, measure, accumulation, period, value, unit_mult, status, basis, valid_from, valid_to, url
      FROM core.observation_vintage
      WHERE indicator = $1 AND district = d.district AND measure = m.measure
      ORDER BY valid_from, id LIMIT 1) o
    ORDER BY o.valid_from, o.id LIMIT 1)
  SELECT id, district, measure, accumulation, period, value::text AS value, unit_mult, status, basis, valid_from, valid_to, url
  FROM (SELECT * FROM in_window WHERE measure = ANY($3::text[])
        UNION ALL
        -- Unless the window already holds it.
        SELECT * FROM first_vintage WHERE NOT (measure = ANY($3::text[]) AND period >= $4 AND period < $5)) v
  ORDER BY v.valid_from, v.id`;

/**
 * Every vintage (current and superseded) of an indicator in the given districts and measures with
 * a period in the given years, plus the first vintage of the series, whose publication opens the
 * snapshot history; in publication order (valid_from, id). Both parts are index-bounded, so the
 * cost follows the target's window, not the length of the history stored. A named statement: each
 * connection plans it once.
 */
export async function loadVintages(client: PoolClient, options: LoadVintagesOptions): Promise<VintageWithValidity[]> {
  const { rows } = await client.query({
    name: 'aggregator-load-vintages',
    text: LOAD_VINTAGES,
    values: [options.indicator, options.districts, options.measures, yearCode(options.years.from), yearCode(options.years.to + 1)],
  });
  return rows.map((row) => ({
    id: row.id,
    district: row.district,
    measure: row.measure,
    accumulation: row.accumulation,
    period: row.period,
    value: row.value,
    unitMult: row.unit_mult,
    status: row.status,
    basis: row.basis,
    validFrom: row.valid_from,
    validTo: row.valid_to,
    url: row.url,
  }));
}
