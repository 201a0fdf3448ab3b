import type { PoolClient } from '@nst/shared/db';
import type { Vintage } from '../compute';

export interface VintageWithValidity extends Vintage {
  validTo: Date | null;
}

const COLUMNS = 'id, district, measure, accumulation, period, value::text AS value, unit_mult, status, basis, valid_from, valid_to, url';

/**
 * Every vintage (current and superseded) of an indicator in the given districts that its targets
 * can read — periods of the years from the earliest base year to the latest target year of the
 * indicator's targets (see `inputYears`) — plus the first vintage of the series, whose publication
 * opens the snapshot history. Both are index scans, so the cost follows the targets' window, not
 * the length of the history stored.
 */
export async function loadVintages(client: PoolClient, indicator: string, districts: readonly string[]): Promise<VintageWithValidity[]> {
  const { rows } = await client.query(
    // The window bounds are uncorrelated subqueries: evaluated once, then an index range on period.
    `(SELECT ${COLUMNS} FROM core.observation
      WHERE indicator = $1 AND district = ANY($2::text[]) AND measure IN ('level', 'yoy_pct')
        -- Period codes start with their four-digit year: a text range is a year range.
        AND period >= (SELECT lpad(min(base_year)::text, 4, '0') FROM agg.target WHERE indicator = $1)
        AND period < (SELECT lpad((max(target_year) + 1)::text, 4, '0') FROM agg.target WHERE indicator = $1))
     UNION
     (SELECT ${COLUMNS} FROM core.observation
      WHERE indicator = $1 AND district = ANY($2::text[]) AND measure IN ('level', 'yoy_pct')
      ORDER BY valid_from, id LIMIT 1)
     ORDER BY valid_from, id`,
    [indicator, districts],
  );
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
