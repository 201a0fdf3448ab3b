import type { PoolClient } from '@nst/shared/db';
import type { PlannedSnapshot } from '../snapshots';
import type { TargetRow } from './targets';

export interface WriteCounts {
  /** Rows left as they were (or only closed by a newer snapshot). */
  kept: number;
  inserted: number;
  deleted: number;
}

/**
 * Make the stored history of a target equal the planned one, touching only rows that differ:
 * unchanged inputs write nothing (not even `computed_at`).
 */
export async function writeSnapshots(client: PoolClient, target: TargetRow, planned: readonly PlannedSnapshot[]): Promise<WriteCounts> {
  // Statements are named: each connection plans them once, not once per job or row.
  const { rows } = await client.query<{ id: number; known_from: Date; known_to: Date | null; inputs_checksum: string }>({
    name: 'aggregator-select-snapshots',
    text: 'SELECT id, known_from, known_to, inputs_checksum FROM agg.progress_snapshot WHERE release = $1 AND target_key = $2',
    values: [target.release, target.key],
  });
  // A snapshot is identified by when it became known and what it was computed from; only its end
  // (known_to) may change in place, when a newer snapshot supersedes it.
  const identity = (from: Date, checksum: string) => `${from.getTime()}|${checksum}`;
  const wanted = new Map(planned.map((p) => [identity(p.knownFrom, p.checksum), p]));
  const counts: WriteCounts = { kept: 0, inserted: 0, deleted: 0 };
  const stale: number[] = [];
  const closings: Array<{ id: number; knownTo: Date | null }> = [];
  for (const row of rows) {
    const key = identity(row.known_from, row.inputs_checksum);
    const match = wanted.get(key);
    if (!match) {
      stale.push(row.id);
      continue;
    }
    wanted.delete(key);
    counts.kept += 1;
    if ((row.known_to?.getTime() ?? null) !== (match.knownTo?.getTime() ?? null)) closings.push({ id: row.id, knownTo: match.knownTo });
  }
  if (stale.length > 0) {
    await client.query({ name: 'aggregator-delete-snapshots', text: 'DELETE FROM agg.progress_snapshot WHERE id = ANY($1::bigint[])', values: [stale] });
    counts.deleted = stale.length;
  }
  for (const closing of closings) {
    await client.query({ name: 'aggregator-close-snapshot', text: 'UPDATE agg.progress_snapshot SET known_to = $2 WHERE id = $1', values: [closing.id, closing.knownTo] });
  }
  for (const p of wanted.values()) {
    const v = p.values;
    await client.query({
      name: 'aggregator-insert-snapshot',
      text: `INSERT INTO agg.progress_snapshot (release, target_key, scope, indicator, kind, target_value, unit, unit_mult, base_year, target_year,
          actual_value, actual_period, actual_accumulation, partial, actual_status, base_value, progress_pct, gap, cagr_realised_pct,
          cagr_required_pct, projected_value, status, detail, inputs, inputs_checksum, known_from, known_to)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)`,
      values: [target.release, target.key, target.scope, target.indicator, target.kind, target.value, target.unit, target.unitMult, target.baseYear,
        target.targetYear, v.actualValue, v.actualPeriod, v.actualAccumulation, v.partial, v.actualStatus, v.baseValue, v.progressPct, v.gap,
        v.cagrRealisedPct, v.cagrRequiredPct, v.projectedValue, v.status, JSON.stringify(v.detail), JSON.stringify(p.inputs), p.checksum,
        p.knownFrom, p.knownTo],
    });
    counts.inserted += 1;
  }
  return counts;
}
