import type { Pool, PoolClient } from '@nst/shared/db';
import type { Scope } from '@nst/shared/domain';
import { inputDistricts, type TargetDef } from '../compute';

export interface TargetRow extends TargetDef {
  /** When the plan was issued: the knowledge time of a snapshot made without any figure. */
  issuedOn: Date;
}

/** Targets whose snapshot reads observations of (scope, indicator): only those are recomputed. */
export async function findDependentTargets(pool: Pool | PoolClient, scope: Scope, indicator: string): Promise<TargetRow[]> {
  // Named: planned once per connection, not once per job.
  const { rows } = await pool.query({
    name: 'aggregator-find-dependent-targets',
    text: `SELECT t.release, t.key, t.scope, t.indicator, t.kind, t.value::text AS value, t.unit, t.unit_mult, t.base_year,
                  t.target_year, i.additive, r.issued_on
           FROM agg.target t JOIN core.indicator i ON i.code = t.indicator JOIN agg.plan_release r ON r.key = t.release
           WHERE t.indicator = $1 ORDER BY t.release, t.key`,
    values: [indicator],
  });
  return rows
    .map((row): TargetRow => ({
      release: row.release,
      key: row.key,
      scope: row.scope,
      indicator: row.indicator,
      kind: row.kind,
      value: row.value,
      unit: row.unit,
      unitMult: row.unit_mult,
      baseYear: row.base_year,
      targetYear: row.target_year,
      additive: row.additive,
      issuedOn: row.issued_on,
    }))
    .filter((target) => scope === 'north_south' ? target.scope === 'north_south' : inputDistricts(target).includes(scope));
}
