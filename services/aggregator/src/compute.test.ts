import { describe, expect, it } from 'vitest';
import { computeSnapshot, type TargetDef, type Vintage } from './compute';

let nextId = 1;
const v = (district: Vintage['district'], period: string, value: string, extra: Partial<Vintage> = {}): Vintage => ({
  id: nextId++,
  district,
  measure: 'level',
  accumulation: /-/.test(period) ? 'ytd' : 'period',
  period,
  value,
  unitMult: 8,
  status: 'final',
  basis: 'unknown',
  validFrom: new Date('2026-01-01T00:00:00Z'),
  url: `https://example.gov.cn/${district}/${period}`,
  ...extra,
});

const gdp4000: TargetDef = {
  release: 'opinions-2022', key: 'ns-gdp-4000', scope: 'north_south', indicator: 'gdp', kind: 'level', value: '4000',
  unit: 'CNY', unitMult: 8, baseYear: 2021, targetYear: 2025, additive: true,
};

describe('level target, both districts combined (4000 亿元 by 2025)', () => {
  const base = [v('baoshan', '2021', '1725.00'), v('jinshan', '2021', '1182.00'), v('baoshan', '2024', '1900.00'), v('jinshan', '2024', '1300.00')];

  it('measures progress with the latest annual figures, and shows a newer year-to-date figure as partial', () => {
    const snapshot = computeSnapshot(gdp4000, [...base, v('baoshan', '2025-Q3', '1450.00'), v('jinshan', '2025-Q3', '1000.00')]);
    // By hand: base 1725 + 1182 = 2907; 2024: 1900 + 1300 = 3200; 2025 Q1–Q3: 1450 + 1000 = 2450.
    expect(snapshot).toMatchObject({
      actualValue: '2450',
      actualPeriod: '2025-Q3',
      actualAccumulation: 'ytd',
      partial: true,
      baseValue: '2907',
      progressPct: '80', // 3200 / 4000
      gap: '800',
      cagrRealisedPct: '3.25', // (3200 / 2907)^(1/3) − 1
      cagrRequiredPct: '25', // 4000 / 3200 − 1
      projectedValue: '3304.09', // 3200 × 1.0325…
      status: 'behind',
      detail: { lastAnnualYear: 2024, lastAnnualValue: '3200' },
    });
  });

  it('sums only periods both districts published', () => {
    const snapshot = computeSnapshot(gdp4000, [...base, v('baoshan', '2025', '2100.00')]);
    expect(snapshot.actualPeriod).toBe('2024');
    expect(snapshot.actualValue).toBe('3200');
    expect(snapshot.partial).toBe(false);
  });

  it('scales each figure to the target unit (万元 → 亿元)', () => {
    const snapshot = computeSnapshot(gdp4000, [v('baoshan', '2021', '1725.00'), v('jinshan', '2021', '11820000', { unitMult: 4 })]);
    expect(snapshot.baseValue).toBe('2907');
  });

  it('is achieved when the target year reaches the goal, missed when it does not', () => {
    const achieved = computeSnapshot(gdp4000, [...base, v('baoshan', '2025', '2400.00'), v('jinshan', '2025', '1700.00')]);
    expect(achieved).toMatchObject({ status: 'achieved', actualValue: '4100', progressPct: '102.5', gap: '-100' });
    const missed = computeSnapshot(gdp4000, [...base, v('baoshan', '2025', '2000.00'), v('jinshan', '2025', '1350.00', { status: 'provisional' })]);
    expect(missed).toMatchObject({ status: 'missed', actualValue: '3350', progressPct: '83.75', actualStatus: 'provisional' });
  });

  it('never sums a non-additive indicator', () => {
    expect(computeSnapshot({ ...gdp4000, additive: false }, base).status).toBe('insufficient_data');
  });

  it('says insufficient_data when nothing is known, never 0', () => {
    const snapshot = computeSnapshot(gdp4000, []);
    expect(snapshot).toMatchObject({ status: 'insufficient_data', actualValue: null, progressPct: null, gap: null });
  });

  it('lists the vintages it used', () => {
    const vintages = [...base, v('shanghai', '2024', '53926.71')];
    const snapshot = computeSnapshot(gdp4000, vintages);
    expect(snapshot.inputIds).toEqual(base.map((b) => b.id));
  });
});

describe('share of the city increment (≥ 20% of new above-scale industrial output)', () => {
  const target: TargetDef = { ...gdp4000, key: 'ns-industrial-increment-share-20', indicator: 'industrial_output', kind: 'share_of_city_increment', value: '20', unit: 'pct', unitMult: 8 };
  const base = [v('baoshan', '2021', '2600'), v('jinshan', '2021', '2400'), v('shanghai', '2021', '39000')];

  it('divides the districts\' increase by the city\'s', () => {
    // By hand: (2900 + 2700 − 5000) / (42000 − 39000) = 600 / 3000 = 20%.
    const snapshot = computeSnapshot(target, [...base, v('baoshan', '2025', '2900'), v('jinshan', '2025', '2700'), v('shanghai', '2025', '42000')]);
    expect(snapshot).toMatchObject({ actualValue: '20', actualPeriod: '2025', progressPct: '100', status: 'achieved', detail: { northSouthIncrease: '600', cityIncrease: '3000' } });
  });

  it('is behind before the target year when the share is short', () => {
    // (5450 − 5000) / (41500 − 39000) = 450 / 2500 = 18%.
    const snapshot = computeSnapshot(target, [...base, v('baoshan', '2024', '2800'), v('jinshan', '2024', '2650'), v('shanghai', '2024', '41500')]);
    expect(snapshot).toMatchObject({ actualValue: '18', status: 'behind', progressPct: '90', gap: '2' });
  });
});

describe('growth above the city average', () => {
  const target: TargetDef = { ...gdp4000, key: 'ns-gdp-growth-above-city', kind: 'growth_above_city', value: null, unit: 'pct' };
  const g = (district: Vintage['district'], year: string, pct: string) => v(district, year, pct, { measure: 'yoy_pct', basis: 'comparable' });

  it('weights the districts\' growth by their previous-year levels and compares with the city', () => {
    const snapshot = computeSnapshot(target, [
      v('baoshan', '2021', '1725'), v('jinshan', '2021', '1182'),
      g('baoshan', '2022', '2.0'), g('jinshan', '2022', '-1.0'), g('shanghai', '2022', '-0.2'),
    ]);
    // By hand: (2.0 × 1725 − 1.0 × 1182) / 2907 = 0.78%, against the city's −0.2%.
    expect(snapshot).toMatchObject({ actualValue: '0.78', gap: '0.98', status: 'on_track', detail: { cityAvgGrowthPct: '-0.2', years: [2022] } });
  });

  it('ignores nominal growth rates', () => {
    const snapshot = computeSnapshot(target, [
      v('baoshan', '2021', '1725'), v('jinshan', '2021', '1182'),
      v('baoshan', '2022', '2.0', { measure: 'yoy_pct', basis: 'nominal' }), g('jinshan', '2022', '-1.0'), g('shanghai', '2022', '-0.2'),
    ]);
    expect(snapshot.status).toBe('insufficient_data');
  });
});

describe('what it remembers of the vintages it computed from', () => {
  const g = (district: Vintage['district'], year: string, pct: string) => v(district, year, pct, { measure: 'yoy_pct', basis: 'comparable' });
  const targets: TargetDef[] = [
    gdp4000,
    { ...gdp4000, key: 'bs-gdp', scope: 'baoshan', kind: 'tracked', value: null },
    { ...gdp4000, key: 'ns-gdp-4000-wan', unitMult: 4, value: '40000000' },
    { ...gdp4000, key: 'ns-gdp-growth-above-city', kind: 'growth_above_city', value: null, unit: 'pct' },
    { ...gdp4000, key: 'ns-increment-share', kind: 'share_of_city_increment', value: '20', unit: 'pct' },
  ];
  // A history's instants see growing sets of the same objects.
  const history = () => [
    v('baoshan', '2021', '1725'), v('jinshan', '2021', '1182'), v('shanghai', '2021', '43214'),
    g('baoshan', '2022', '2.0'), g('jinshan', '2022', '-1.0'), g('shanghai', '2022', '-0.2'),
    v('baoshan', '2022', '1760'), v('jinshan', '2022', '11700000', { unitMult: 4 }), v('shanghai', '2022', '44652.8', { status: 'provisional' }),
    v('baoshan', '2023-Q3', '1300'), v('jinshan', '2023-Q3', '880'), g('baoshan', '2023', '5.1'), g('jinshan', '2023', '4.2'), g('shanghai', '2023', '5.0'),
    v('baoshan', '2023', '1850'), v('jinshan', '2023', '1240'), v('shanghai', '2023', '47218.66'),
  ];
  const fresh = (vintages: readonly Vintage[]) => vintages.map((x) => ({ ...x }));

  it('computes from vintages it has seen exactly what it computes from fresh copies of them', () => {
    const vintages = history();
    for (let round = 0; round < 2; round += 1) {
      for (const target of targets) {
        for (let n = 0; n <= vintages.length; n += 1) {
          expect(computeSnapshot(target, vintages.slice(0, n))).toEqual(computeSnapshot(target, fresh(vintages.slice(0, n))));
        }
      }
    }
    // Not vacuous: every kind reaches a figure.
    for (const target of targets) expect(computeSnapshot(target, vintages).actualValue).not.toBeNull();
  });

  it('computes anew from a vintage changed in place: its figure, unit or status', () => {
    const vintages = history();
    for (const target of targets) computeSnapshot(target, vintages);
    vintages[14]!.value = '1900'; // baoshan 2023
    vintages[7]!.unitMult = 8; // jinshan 2022, now in 亿元
    vintages[7]!.value = '1170';
    vintages[15]!.status = 'estimated'; // jinshan 2023
    vintages[11]!.value = '6.3'; // baoshan growth 2023
    for (const target of targets) expect(computeSnapshot(target, vintages)).toEqual(computeSnapshot(target, fresh(vintages)));
    expect(computeSnapshot(gdp4000, vintages)).toMatchObject({ actualValue: '3140', actualStatus: 'estimated' });
  });
});
