/**
 * The snapshot history of one target: one snapshot per knowledge interval. At every instant a
 * vintage of an input was published, the target's progress is computed from the vintages valid
 * at that instant; consecutive identical results are one interval. The history is therefore a
 * function of the observation vintages alone: recomputing it after a replay yields the same rows.
 */
import { createHash } from 'node:crypto';
import { periodYear } from '@nst/shared/domain';
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

/**
 * The years whose figures a target's snapshot reads: computeSnapshot looks only at periods of
 * baseYear … targetYear (base and annual levels, year-to-date figures, growth of the years in
 * between). Figures of other years never change a snapshot, so only this window is loaded.
 */
export function inputYears(target: Pick<TargetRow, 'baseYear' | 'targetYear'>): { from: number; to: number } {
  return { from: target.baseYear, to: target.targetYear };
}

const inWindow = (period: string, window: { from: number; to: number }) => {
  const year = periodYear(period);
  return year >= window.from && year <= window.to;
};

/** Words of a 128-bit fingerprint; a set of vintages is fingerprinted by XOR-ing its members'. */
type Fingerprint = [number, number, number, number];

/** Fingerprints by vintage content: most vintages are read again by the next job, unchanged. */
const fingerprints = new Map<string, Fingerprint>();

function fingerprintOf(v: VintageWithValidity): Fingerprint {
  // Everything computeSnapshot can read of a vintage, its provenance, and where it sorts (not its
  // end: while it is valid, a snapshot does not depend on when it will stop being so).
  const content = `${v.id}|${v.district}|${v.measure}|${v.accumulation}|${v.period}|${v.value}|${v.unitMult}|${v.status}|${v.basis}|${v.validFrom.getTime()}|${v.url}`;
  let fingerprint = fingerprints.get(content);
  if (!fingerprint) {
    const digest = createHash('sha1').update(content).digest();
    fingerprint = [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
    remember(fingerprints, content, fingerprint, 100_000);
  }
  return fingerprint;
}

const xorInto = (into: Fingerprint, other: Fingerprint) => {
  for (let i = 0; i < 4; i += 1) into[i] = (into[i]! ^ other[i]!) >>> 0;
};

/** Bounded memo: the oldest entry goes first. */
function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  if (map.size >= limit) map.delete(map.keys().next().value!);
  map.set(key, value);
}

type Instant = Pick<PlannedSnapshot, 'values' | 'inputs' | 'checksum'>;

/**
 * Snapshots already computed, by target definition and the exact set of vintages known: a job
 * recomputing a history looks up the instants whose inputs did not change since an earlier job
 * instead of computing them again, so the work follows the change; a history whose inputs did not
 * change at all is taken whole. computeSnapshot is pure, so a replica's memo can only save work,
 * never change a result.
 */
const instants = new Map<string, Instant>();
const histories = new Map<string, { inputs: string; planned: PlannedSnapshot[] }>();

function definitionOf(target: TargetRow): string {
  return JSON.stringify([target.release, target.key, target.scope, target.indicator, target.kind, target.value, target.unit, target.unitMult,
    target.baseYear, target.targetYear, target.additive, target.issuedOn.getTime()]);
}

/**
 * Plan the history from `vintages`. Vintages outside the target's {@link inputYears} may be given
 * (the first vintage of the series, which opens the history, is); they only contribute that first
 * instant, exactly as if every vintage had been loaded.
 */
export function planSnapshots(target: TargetRow, vintages: readonly VintageWithValidity[]): PlannedSnapshot[] {
  const window = inputYears(target);
  // In publication order (valid_from, id), as loadVintages returns them: the order compute sees.
  const read = vintages
    .filter((v) => inWindow(v.period, window))
    .sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime() || a.id - b.id);
  const first = vintages.reduce<number | undefined>((min, v) => (min === undefined || v.validFrom.getTime() < min ? v.validFrom.getTime() : min), undefined);

  const definition = definitionOf(target);
  const prints = read.map(fingerprintOf);
  const all: Fingerprint = [0, 0, 0, 0];
  for (const print of prints) xorInto(all, print);
  const ends = createHash('sha1').update(read.map((v) => `${v.id}:${v.validTo?.getTime() ?? ''}`).join(',')).digest('hex');
  const inputsKey = `${first ?? ''}|${read.length}|${all.join('.')}|${ends}`;
  const previous = histories.get(definition);
  if (previous?.inputs === inputsKey) return previous.planned.map((p) => ({ ...p }));

  // A snapshot can change only where one of the vintages it reads starts (a vintage ends where the
  // next one of its key starts); the history opens with the first publication of the series.
  const times = [...new Set([...(first === undefined ? [] : [first]), ...read.map((v) => v.validFrom.getTime())])].sort((a, b) => a - b);
  if (times.length === 0) times.push(target.issuedOn.getTime());
  const from = read.map((v) => v.validFrom.getTime());
  const to = read.map((v) => v.validTo?.getTime() ?? Infinity);
  const byEnd = read.map((_v, i) => i).sort((a, b) => to[a]! - to[b]!);
  const known: Fingerprint = [0, 0, 0, 0];
  let entered = 0;
  let left = 0;
  const planned: PlannedSnapshot[] = [];
  for (const time of times) {
    // Sweep: the vintages valid at `time` are those started by then and not yet ended.
    while (entered < read.length && from[entered]! <= time) xorInto(known, prints[entered++]!);
    while (left < byEnd.length && to[byEnd[left]!]! <= time) xorInto(known, prints[byEnd[left++]!]!);
    const key = `${definition}|${entered - left}|${known.join('.')}`;
    let instant = instants.get(key);
    if (!instant) {
      const valid = read.filter((_v, i) => from[i]! <= time && to[i]! > time);
      const values = computeSnapshot(target, valid);
      const used = new Set(values.inputIds);
      const inputs = valid
        .filter((v) => used.has(v.id))
        .map((v) => ({ id: v.id, district: v.district, measure: v.measure, accumulation: v.accumulation, period: v.period, value: v.value, status: v.status, url: v.url, validFrom: v.validFrom.toISOString() }));
      instant = { values, inputs, checksum: checksumOf(target, values, inputs) };
      remember(instants, key, instant, 20_000);
    }
    const last = planned.at(-1);
    if (last && last.checksum === instant.checksum) continue;
    if (last) last.knownTo = new Date(time);
    planned.push({ knownFrom: new Date(time), knownTo: null, ...instant });
  }
  remember(histories, definition, { inputs: inputsKey, planned: planned.map((p) => ({ ...p })) }, 1_000);
  return planned;
}
