/**
 * The snapshot history of one target: one snapshot per knowledge interval. At every instant a
 * vintage of an input was published, the target's progress is computed from the vintages valid
 * at that instant; consecutive identical results are one interval. The history is therefore a
 * function of the observation vintages alone: recomputing it after a replay yields the same rows.
 */
import { createHash } from 'node:crypto';
import { computeSnapshot, type SnapshotValues } from './compute';
import type { TargetRow } from './sql/targets';
import type { VintageWithValidity } from './sql/vintages';

export interface PlannedSnapshot {
  knownFrom: Date;
  knownTo: Date | null;
  values: SnapshotValues;
  inputs: Array<Pick<VintageWithValidity, 'id' | 'district' | 'measure' | 'accumulation' | 'period' | 'value' | 'status' | 'url'> & { validFrom: string }>;
  checksum: string;
}

function checksumOf(target: TargetRow, values: SnapshotValues, inputs: PlannedSnapshot['inputs']): string {
  const definition = [target.release, target.key, target.scope, target.indicator, target.kind, target.value, target.unitMult, target.baseYear, target.targetYear];
  return createHash('sha256').update(JSON.stringify([definition, inputs.map((i) => [i.id, i.value, i.status]), values])).digest('hex');
}

export function planSnapshots(target: TargetRow, vintages: readonly VintageWithValidity[]): PlannedSnapshot[] {
  const times = [...new Set(vintages.map((v) => v.validFrom.getTime()))].sort((a, b) => a - b);
  if (times.length === 0) times.push(target.issuedOn.getTime());
  const planned: PlannedSnapshot[] = [];
  for (const time of times) {
    const known = vintages.filter((v) => v.validFrom.getTime() <= time && (v.validTo === null || v.validTo.getTime() > time));
    const values = computeSnapshot(target, known);
    const used = new Set(values.inputIds);
    const inputs = known
      .filter((v) => used.has(v.id))
      .map((v) => ({ id: v.id, district: v.district, measure: v.measure, accumulation: v.accumulation, period: v.period, value: v.value, status: v.status, url: v.url, validFrom: v.validFrom.toISOString() }));
    const checksum = checksumOf(target, values, inputs);
    const previous = planned.at(-1);
    if (previous && previous.checksum === checksum) continue;
    if (previous) previous.knownTo = new Date(time);
    planned.push({ knownFrom: new Date(time), knownTo: null, values, inputs, checksum });
  }
  return planned;
}
