/**
 * The snapshot history of one target: one snapshot per knowledge interval. At every instant a
 * vintage of an input was published, the target's progress is computed from the vintages valid
 * at that instant; consecutive identical results are one interval. The history is therefore a
 * function of the observation vintages alone: recomputing it after a replay yields the same rows.
 */
import { createHash } from 'node:crypto';
import { emptyList, kept, mapped } from '@nst/shared/arrays';
import { periodYear } from '@nst/shared/domain';
import { computeSnapshot, inputMeasures, type SnapshotValues, type Vintage } from './compute';
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
  return createHash('sha256').update(JSON.stringify([definition, mapped(inputs, (i) => [i.id, i.value, i.status]), values])).digest('hex');
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

/**
 * Fingerprints by vintage id, with the content they were computed from: most vintages are read
 * again by the next job, unchanged, and comparing their fields costs less than hashing them. An
 * entry is used only if every field it hashed is equal, so a print is always that of the content.
 */
interface Printed {
  content: Omit<Vintage, 'id' | 'validFrom'> & { validFrom: number };
  print: Fingerprint;
}
const fingerprints = new Map<number, Printed>();

function fingerprintOf(v: VintageWithValidity, validFrom: number): Fingerprint {
  const known = fingerprints.get(v.id);
  if (known !== undefined) {
    const c = known.content;
    if (c.validFrom === validFrom && c.value === v.value && c.period === v.period && c.status === v.status && c.url === v.url
      && c.district === v.district && c.measure === v.measure && c.accumulation === v.accumulation && c.unitMult === v.unitMult
      && c.basis === v.basis) return known.print;
  }
  // Everything computeSnapshot can read of a vintage, its provenance, and where it sorts (not its
  // end: while it is valid, a snapshot does not depend on when it will stop being so).
  const content = `${v.id}|${v.district}|${v.measure}|${v.accumulation}|${v.period}|${v.value}|${v.unitMult}|${v.status}|${v.basis}|${validFrom}|${v.url}`;
  const digest = createHash('sha1').update(content).digest();
  const print: Fingerprint = [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
  remember(fingerprints, v.id, {
    content: { district: v.district, measure: v.measure, accumulation: v.accumulation, period: v.period, value: v.value, unitMult: v.unitMult,
      status: v.status, basis: v.basis, validFrom, url: v.url },
    print,
    // A job reads a few hundred vintages per target: twenty thousand cover every target's working
    // set many times over (with a hundred thousand the benchmark's aggregator peaked near 300 MB).
  }, 20_000);
  return print;
}

const xorInto = (into: Fingerprint, other: Fingerprint) => {
  for (let i = 0; i < 4; i += 1) into[i] = (into[i]! ^ other[i]!) >>> 0;
};

/** Bounded memo: the oldest entry goes first. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  if (map.size >= limit) map.delete(map.keys().next().value!);
  map.set(key, value);
}

type Instant = Pick<PlannedSnapshot, 'values' | 'inputs' | 'checksum'>;

/** An instant's result with what identifies it: the target definition (its number) and the set of vintages known. */
interface KnownInstant {
  definition: number;
  count: number;
  known: Fingerprint;
  instant: Instant;
}

/** What a history was planned from: the vintages read (by content) and where each of them ends. */
interface HistoryInputs {
  first: number | undefined;
  all: Fingerprint;
  /** id, end (Infinity while open) of each vintage read, in publication order. */
  ends: Float64Array;
}

const sameInputs = (a: HistoryInputs, b: HistoryInputs) =>
  a.first === b.first && a.all.every((word, i) => word === b.all[i]) && a.ends.length === b.ends.length && a.ends.every((x, i) => x === b.ends[i]);

/**
 * Snapshots already computed, by target definition and the exact set of vintages known: a job
 * recomputing a history looks up the instants whose inputs did not change since an earlier job
 * instead of computing them again, so the work follows the change; a history whose inputs did not
 * change at all is taken whole. computeSnapshot is pure, so a replica's memo can only save work,
 * never change a result.
 */
const instants = new Map<number, KnownInstant>();
const histories = new Map<string, { inputs: HistoryInputs; planned: PlannedSnapshot[] }>();

/**
 * The key of an instant in `instants`: 53 bits of its identity, a number because turning the
 * fingerprint into a string at every instant cost more than the rest of an unchanged sweep. Two
 * identities may share a key: an entry records whose it is, so one is never taken for the other.
 */
const instantKey = (definition: number, count: number, known: Fingerprint) =>
  ((known[0] ^ Math.imul(definition, 0x9e3779b1) ^ Math.imul(count, 0x85ebca6b)) >>> 0) * 0x200000 + (known[1] >>> 11);

const isInstantOf = (instant: KnownInstant, definition: number, count: number, known: Fingerprint) =>
  instant.definition === definition && instant.count === count && instant.known[0] === known[0] && instant.known[1] === known[1]
  && instant.known[2] === known[2] && instant.known[3] === known[3];

/**
 * A short number per target definition for the keys of `instants`, so a lookup hashes a few words,
 * not the definition. Numbers are never reused: an instant of an evicted definition is never hit.
 */
const definitionNumbers = new Map<string, number>();
let lastDefinitionNumber = 0;

function definitionOf(target: TargetRow): string {
  return JSON.stringify([target.release, target.key, target.scope, target.indicator, target.kind, target.value, target.unit, target.unitMult,
    target.baseYear, target.targetYear, target.additive, target.issuedOn.getTime()]);
}

function numberOf(definition: string): number {
  let number = definitionNumbers.get(definition);
  if (number === undefined) {
    number = (lastDefinitionNumber += 1);
    remember(definitionNumbers, definition, number, 1_000);
  }
  return number;
}

/**
 * Plan the history from `vintages`. Vintages outside the target's {@link inputYears} or of measures
 * it does not read ({@link inputMeasures}) may be given (the first vintage of the series, which
 * opens the history, is); they only contribute that first instant, exactly as if every vintage had
 * been loaded. A vintage ends where the next one of its key starts, so an instant where only such
 * vintages start or end computes what the instant before it did.
 */
export function planSnapshots(target: TargetRow, vintages: readonly VintageWithValidity[]): PlannedSnapshot[] {
  const window = inputYears(target);
  const measures = inputMeasures(target);
  let first: number | undefined;
  // The vintage lists here are made by @nst/shared/arrays: one kind of array, for code V8 compiles once.
  let read = emptyList<VintageWithValidity>();
  for (const v of vintages) {
    const time = v.validFrom.getTime();
    if (first === undefined || time < first) first = time;
    if (measures.includes(v.measure) && inWindow(v.period, window)) read.push(v);
  }
  // In publication order (valid_from, id), as loadVintages returns them: the order compute sees.
  if (!read.every((v, i) => i === 0 || byPublication(read[i - 1]!, v) <= 0)) read = read.sort(byPublication);

  const from = mapped(read, (v) => v.validFrom.getTime());
  const to = mapped(read, (v) => v.validTo?.getTime() ?? Infinity);
  const prints = mapped(read, (v, i) => fingerprintOf(v, from[i]!));
  const all: Fingerprint = [0, 0, 0, 0];
  for (const print of prints) xorInto(all, print);
  const ends = new Float64Array(read.length * 2);
  read.forEach((v, i) => {
    ends[2 * i] = v.id;
    ends[2 * i + 1] = to[i]!;
  });
  const seen: HistoryInputs = { first, all, ends };
  const definition = definitionOf(target);
  const previous = histories.get(definition);
  if (previous && sameInputs(previous.inputs, seen)) return mapped(previous.planned, (p) => ({ ...p }));

  // A snapshot can change only where one of the vintages it reads starts (a vintage ends where the
  // next one of its key starts); the history opens with the first publication of the series.
  // `from` is in publication order and `first` precedes it: the distinct times, in order, in one pass.
  const times = emptyList<number>();
  times.push(first === undefined ? target.issuedOn.getTime() : first);
  for (const time of from) if (time !== times.at(-1)) times.push(time);
  // Only vintages that end leave the sweep.
  const byEnd = emptyList<number>();
  for (let i = 0; i < read.length; i += 1) if (to[i] !== Infinity) byEnd.push(i);
  byEnd.sort((a, b) => to[a]! - to[b]!);
  const number = numberOf(definition);
  const known: Fingerprint = [0, 0, 0, 0];
  let entered = 0;
  let left = 0;
  const planned = emptyList<PlannedSnapshot>();
  for (const time of times) {
    // Sweep: the vintages valid at `time` are those started by then and not yet ended.
    while (entered < read.length && from[entered]! <= time) xorInto(known, prints[entered++]!);
    while (left < byEnd.length && to[byEnd[left]!]! <= time) xorInto(known, prints[byEnd[left++]!]!);
    const count = entered - left;
    const key = instantKey(number, count, known);
    const cached = instants.get(key);
    let instant = cached && isInstantOf(cached, number, count, known) ? cached.instant : undefined;
    if (!instant) {
      const valid = kept(read, (_v, i) => from[i]! <= time && to[i]! > time);
      const values = computeSnapshot(target, valid);
      const used = new Set(values.inputIds);
      const inputs = mapped(kept(valid, (v) => used.has(v.id)), (v) => ({ id: v.id, district: v.district, measure: v.measure, accumulation: v.accumulation, period: v.period, value: v.value, status: v.status, url: v.url, validFrom: v.validFrom.toISOString() }));
      instant = { values, inputs, checksum: checksumOf(target, values, inputs) };
      remember(instants, key, { definition: number, count, known: [...known], instant }, 20_000);
    }
    const last = planned.at(-1);
    if (last && last.checksum === instant.checksum) continue;
    if (last) last.knownTo = new Date(time);
    planned.push({ knownFrom: new Date(time), knownTo: null, ...instant });
  }
  remember(histories, definition, { inputs: seen, planned: mapped(planned, (p) => ({ ...p })) }, 1_000);
  return planned;
}

const byPublication = (a: VintageWithValidity, b: VintageWithValidity) => a.validFrom.getTime() - b.validFrom.getTime() || a.id - b.id;
