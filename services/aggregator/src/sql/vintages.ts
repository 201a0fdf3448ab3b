import type { PoolClient } from '@nst/shared/db';
import type { Vintage } from '../compute';

export interface VintageWithValidity extends Vintage {
  validTo: Date | null;
}

/** Every vintage (current and superseded) of an indicator in the given districts. */
export async function loadVintages(client: PoolClient, indicator: string, districts: readonly string[]): Promise<VintageWithValidity[]> {
  const { rows } = await client.query(
    `SELECT id, district, measure, accumulation, period, value::text AS value, unit_mult, status, basis, valid_from, valid_to, url
     FROM core.observation
     WHERE indicator = $1 AND district = ANY($2::text[]) AND measure IN ('level', 'yoy_pct')
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
