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
  // Closings before reopenings: at most one open snapshot per target at every step (the unique
  // index is checked row by row, so the two kinds are two statements).
  for (const group of [closings.filter((c) => c.knownTo !== null), closings.filter((c) => c.knownTo === null)]) {
    if (group.length === 0) continue;
    const { rowCount } = await client.query({
      name: 'aggregator-close-snapshots',
      text: `UPDATE agg.progress_snapshot s SET known_to = v.known_to FROM unnest($1::bigint[], $2::timestamptz[]) AS v(id, known_to) WHERE s.id = v.id`,
      values: [group.map((c) => c.id), group.map((c) => c.knownTo)],
    });
    if (rowCount !== group.length) throw new Error(`writeSnapshots: ${group.length} snapshots to update, ${rowCount ?? 0} updated`);
  }
  const inserts = [...wanted.values()];
  if (inserts.length > 0) {
    // The target's columns once, each snapshot's as parallel arrays: one statement for the history.
    const column = <T>(pick: (p: PlannedSnapshot) => T) => inserts.map(pick);
    await client.query({
      name: 'aggregator-insert-snapshots',
      text: `INSERT INTO agg.progress_snapshot (release, target_key, scope, indicator, kind, target_value, unit, unit_mult, base_year, target_year,
          actual_value, actual_period, actual_accumulation, partial, actual_status, base_value, progress_pct, gap, cagr_realised_pct,
          cagr_required_pct, projected_value, status, detail, inputs, inputs_checksum, known_from, known_to)
       SELECT $1, $2, $3, $4, $5, $6::numeric, $7, $8::smallint, $9::integer, $10::integer, v.*
       FROM unnest($11::numeric[], $12::text[], $13::text[], $14::boolean[], $15::text[], $16::numeric[], $17::numeric[], $18::numeric[], $19::numeric[],
                   $20::numeric[], $21::numeric[], $22::text[], $23::jsonb[], $24::jsonb[], $25::text[], $26::timestamptz[], $27::timestamptz[]) AS v`,
      values: [target.release, target.key, target.scope, target.indicator, target.kind, target.value, target.unit, target.unitMult, target.baseYear,
        target.targetYear, column((p) => p.values.actualValue), column((p) => p.values.actualPeriod), column((p) => p.values.actualAccumulation),
        column((p) => p.values.partial), column((p) => p.values.actualStatus), column((p) => p.values.baseValue), column((p) => p.values.progressPct),
        column((p) => p.values.gap), column((p) => p.values.cagrRealisedPct), column((p) => p.values.cagrRequiredPct), column((p) => p.values.projectedValue),
        column((p) => p.values.status), column((p) => JSON.stringify(p.values.detail)), column((p) => JSON.stringify(p.inputs)), column((p) => p.checksum),
        column((p) => p.knownFrom), column((p) => p.knownTo)],
    });
    counts.inserted = inserts.length;
  }
  return counts;
}
