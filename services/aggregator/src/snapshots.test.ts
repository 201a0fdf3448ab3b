import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeSnapshot, inputMeasures } from './compute';
import { planSnapshots, type PlannedSnapshot } from './snapshots';
import type { TargetRow } from './sql/targets';
import type { VintageWithValidity } from './sql/vintages';

/**
 * The plain definition of the history: at every instant any vintage was published, compute from
 * every vintage valid then; merge equal neighbours. planSnapshots must give exactly this, however
 * much of the series outside the target's years and measures it is given and whatever it computed
 * before. It computes from fresh copies, so nothing remembered about the given objects reaches it.
 */
function referencePlan(target: TargetRow, given: readonly VintageWithValidity[]): PlannedSnapshot[] {
  const vintages = given.map((v) => ({ ...v }));
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
    const definition = [target.release, target.key, target.scope, target.indicator, target.kind, target.value, target.unitMult, target.baseYear, target.targetYear];
    const checksum = createHash('sha256').update(JSON.stringify([definition, inputs.map((i) => [i.id, i.value, i.status]), values])).digest('hex');
    const previous = planned.at(-1);
    if (previous && previous.checksum === checksum) continue;
    if (previous) previous.knownTo = new Date(time);
    planned.push({ knownFrom: new Date(time), knownTo: null, values, inputs, checksum });
  }
  return planned;
}

const target = (kind: TargetRow['kind'], extra: Partial<TargetRow> = {}): TargetRow => ({
  release: 'opinions-2022', key: `t-${kind}`, scope: 'north_south', indicator: 'gdp', kind, value: kind === 'tracked' ? null : '4000',
  unit: kind === 'level' || kind === 'tracked' ? 'CNY' : 'pct', unitMult: 8, baseYear: 2021, targetYear: 2025, additive: true,
  issuedOn: new Date('2022-06-28T00:00:00Z'), ...extra,
});

/** A deterministic series: 2015–2026, annual and year-to-date levels and growth, revised now and then. */
function series(seed: number): VintageWithValidity[] {
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const vintages: VintageWithValidity[] = [];
  let id = 1;
  for (const district of ['baoshan', 'jinshan', 'shanghai'] as const) {
    for (let year = 2015; year <= 2026; year += 1) {
      for (const [period, accumulation, month] of [[`${year}-Q1`, 'ytd', 4], [`${year}-H1`, 'ytd', 7], [`${year}-Q3`, 'ytd', 10], [String(year), 'period', 13]] as const) {
        for (const measure of ['level', 'yoy_pct'] as const) {
          const revisions = 1 + Math.floor(random() * 3);
          let published = Date.UTC(year, month - 1, 5 + Math.floor(random() * 20));
          const keyVintages: VintageWithValidity[] = [];
          for (let r = 0; r < revisions; r += 1) {
            const level = (district === 'shanghai' ? 40_000 : 1_500) * 1.05 ** (year - 2021) * (accumulation === 'ytd' ? (month - 1) / 12 : 1);
            const value = measure === 'level' ? (level * (0.97 + random() * 0.06)).toFixed(2) : (random() * 10 - 2).toFixed(1);
            keyVintages.push({
              id: id++, district, measure, accumulation, period, value, unitMult: 8, status: r === 0 && random() < 0.3 ? 'provisional' : 'final',
              basis: measure === 'yoy_pct' ? 'comparable' : 'unknown', validFrom: new Date(published), validTo: null, url: `https://example.gov.cn/${district}/${period}/${r}`,
            });
            published += (30 + Math.floor(random() * 300)) * 86_400_000;
          }
          keyVintages.forEach((v, i) => (v.validTo = keyVintages[i + 1]?.validFrom ?? null));
          vintages.push(...keyVintages);
        }
      }
    }
  }
  return vintages.sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime() || a.id - b.id);
}

const inYears = (v: VintageWithValidity, t: TargetRow) => Number(v.period.slice(0, 4)) >= t.baseYear && Number(v.period.slice(0, 4)) <= t.targetYear;
/** What loadVintages reads for a target: its years and measures, and the first vintage of the series. */
const loaded = (all: readonly VintageWithValidity[], t: TargetRow) =>
  all.filter((v) => (inYears(v, t) && inputMeasures(t).includes(v.measure)) || v === all[0]);

describe('planSnapshots', () => {
  const targets = [target('level'), target('tracked', { scope: 'baoshan' }), target('growth_above_city', { value: null }), target('share_of_city_increment', { value: '20', indicator: 'industrial_output' })];

  it.each(targets.map((t) => [t.kind, t] as const))('%s: the target years and measures and the first vintage give the history of the whole series', (_kind, t) => {
    for (const seed of [1, 2, 3]) {
      const all = series(seed);
      expect(planSnapshots(t, loaded(all, t))).toEqual(referencePlan(t, all));
      expect(planSnapshots(t, all)).toEqual(referencePlan(t, all));
      // The years alone, every measure (what the loader read before it read only the target's).
      expect(planSnapshots(t, all.filter((v) => inYears(v, t) || v === all[0]))).toEqual(referencePlan(t, all));
    }
    // Not a vacuous comparison: the history has several intervals with figures.
    const history = referencePlan(t, series(1));
    expect(history.length).toBeGreaterThan(5);
    expect(history.at(-1)!.values.inputIds.length).toBeGreaterThan(0);
  });

  it('recomputes what changed: a figure revised in place, a vintage added or removed', () => {
    const t = target('level');
    const all = series(7);
    expect(planSnapshots(t, all)).toEqual(referencePlan(t, all));
    // Same ids, another value (a re-parse updates the row in place): no stale result.
    const revised = all.map((v) => (v.period === '2024' && v.measure === 'level' ? { ...v, value: (Number(v.value) + 100).toFixed(2) } : v));
    expect(planSnapshots(t, revised)).toEqual(referencePlan(t, revised));
    // A revision published later: the vintage in force closes where the new one starts.
    const open = all.find((v) => v.period === '2023' && v.district === 'baoshan' && v.measure === 'level' && v.validTo === null)!;
    const revision = { ...open, id: 10_000, value: (Number(open.value) + 50).toFixed(2), validFrom: new Date(open.validFrom.getTime() + 86_400_000 * 40) };
    const withRevision = [...all.map((v) => (v === open ? { ...v, validTo: revision.validFrom } : v)), revision]
      .sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime() || a.id - b.id); // as loadVintages returns them
    expect(planSnapshots(t, withRevision)).toEqual(referencePlan(t, withRevision));
    const fewer = all.filter((v) => !(v.period === '2023' && v.district === 'jinshan'));
    expect(planSnapshots(t, fewer)).toEqual(referencePlan(t, fewer));
    expect(planSnapshots(t, all)).toEqual(referencePlan(t, all));
  });

  it('recomputes a figure changed in place on the same object, for every kind', () => {
    for (const t of targets) {
      const all = series(11);
      expect(planSnapshots(t, loaded(all, t))).toEqual(referencePlan(t, all));
      // A re-parse may hand back the very objects it was given, changed: nothing stale may be reused.
      for (const v of all) if (v.period.startsWith('2024') || v.period.startsWith('2021')) v.value = (Number(v.value) * 1.1).toFixed(2);
      // A status alone (the figure unchanged) changes what a snapshot says too.
      for (const v of all) if (v.period === '2023' && v.measure === 'level') v.status = 'estimated';
      expect(planSnapshots(t, loaded(all, t))).toEqual(referencePlan(t, all));
    }
  });

  it('starts at the plan release when nothing is known', () => {
    const t = target('level');
    expect(planSnapshots(t, [])).toEqual(referencePlan(t, []));
    expect(planSnapshots(t, [])[0]!.knownFrom).toEqual(t.issuedOn);
  });
});
