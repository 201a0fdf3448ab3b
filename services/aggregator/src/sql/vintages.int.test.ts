/**
 * loadVintages against real PostgreSQL: the target's window (years, districts, measures) and the
 * first vintage of the series, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '@nst/shared/db';
import { createTestDatabase, type TestDatabase } from '@nst/shared/testing';
import { archiveEmptyDocument } from '../testing';
import { loadVintages, type LoadVintagesOptions } from './vintages';

describe('loadVintages', () => {
  let db: TestDatabase;
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    db = await createTestDatabase();
    const doc = await archiveEmptyDocument(db.pool);
    const add = async (name: string, district: string, measure: string, period: string, value: string, validFrom: string) => {
      const inserted = await db.pool.query(
        `INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult,
                                       status, document_id, url, locator, parser_version, valid_from)
         VALUES ($1, 'gdp', $2, 'period', $3, ($3 || '-01-01')::date, ($3 || '-12-31')::date, $4::numeric, $4, $5, $6, 'final', $7,
                 'https://xxgk.shbsq.gov.cn/t.html', 'p[1]', 't', $8) RETURNING id`,
        [district, measure, period, value, measure === 'level' ? 'CNY' : 'pct', measure === 'level' ? 8 : 0, doc, validFrom],
      );
      ids[name] = inserted.rows[0].id;
    };
    // Published before everything else, but not a measure the aggregator reads: never the first vintage.
    await add('share2009', 'baoshan', 'share_pct', '2009', '4.1', '1960-01-01T00:00:00Z');
    await add('yoy2014', 'jinshan', 'yoy_pct', '2014', '7.5', '1965-06-30T12:00:00.987654Z');
    await add('level2015', 'baoshan', 'level', '2015', '1011.50', '1966-02-01T00:00:00.000999Z');
    await add('level2015revised', 'baoshan', 'level', '2015', '1012.00', '1967-03-01T00:00:00Z');
    await add('level2021', 'baoshan', 'level', '2021', '1725.00', '2022-03-25T00:00:00.123456Z');
    await add('level2021revised', 'baoshan', 'level', '2021', '1730.10', '2023-01-10T08:00:00Z');
    await add('yoy2021', 'baoshan', 'yoy_pct', '2021', '3.3', '2022-03-25T00:00:00.123456Z');
    await add('jinshan2024', 'jinshan', 'level', '2024', '1300.00', '2025-04-07T00:00:00Z');
    await add('shanghai2021', 'shanghai', 'level', '2021', '43214.85', '2022-01-20T00:00:00Z');
    await add('level2026', 'baoshan', 'level', '2026', '2300.00', '2027-03-25T00:00:00Z');
  });
  afterAll(async () => {
    await db.drop();
  });

  const load = (options: Partial<LoadVintagesOptions>) =>
    withTransaction(db.pool, (client) =>
      loadVintages(client, { indicator: 'gdp', districts: ['baoshan', 'jinshan'], measures: ['level'], years: { from: 2021, to: 2025 }, ...options }));
  const names = (vintages: Array<{ id: number }>) => vintages.map((v) => Object.keys(ids).find((name) => ids[name] === v.id));

  it('reads the target\'s years, districts and measures, and the first vintage of the series, in publication order', async () => {
    expect(names(await load({}))).toEqual(['yoy2014', 'level2021', 'level2021revised', 'jinshan2024']);
    expect(names(await load({ measures: ['level', 'yoy_pct'] }))).toEqual(['yoy2014', 'level2021', 'yoy2021', 'level2021revised', 'jinshan2024']);
    expect(names(await load({ districts: ['baoshan'] }))).toEqual(['level2015', 'level2021', 'level2021revised']);
  });

  it('gives the first vintage once when the window holds it', async () => {
    expect(names(await load({ districts: ['jinshan'], years: { from: 2014, to: 2025 }, measures: ['level', 'yoy_pct'] }))).toEqual(['yoy2014', 'jinshan2024']);
    expect(names(await load({ districts: ['shanghai'] }))).toEqual(['shanghai2021']);
  });

  it('carries each field as stored', async () => {
    const vintages = await load({ measures: ['level', 'yoy_pct'] });
    expect(vintages[0]!.validFrom.toISOString()).toBe('1965-06-30T12:00:00.987Z');
    expect(vintages.find((v) => v.id === ids.level2021)).toEqual({
      id: ids.level2021, district: 'baoshan', measure: 'level', accumulation: 'period', period: '2021', value: '1725.00', unitMult: 8,
      status: 'final', basis: 'unknown', validFrom: new Date('2022-03-25T00:00:00.123Z'), validTo: new Date('2023-01-10T08:00:00Z'),
      url: 'https://xxgk.shbsq.gov.cn/t.html',
    });
  });

  it('ends each vintage where the next of its key starts, the first vintage\'s too when its key is outside the window', async () => {
    const ends = (vintages: Array<{ id: number; validTo: Date | null }>) =>
      Object.fromEntries(vintages.map((v) => [names([v])[0], v.validTo?.toISOString() ?? null]));
    expect(ends(await load({ districts: ['baoshan'], measures: ['level', 'yoy_pct'] }))).toEqual({
      level2015: '1967-03-01T00:00:00.000Z',
      level2021: '2023-01-10T08:00:00.000Z',
      level2021revised: null,
      yoy2021: null,
    });
  });

  it('runs again on a connection that has prepared it', async () => {
    const client = await db.pool.connect();
    try {
      const options: LoadVintagesOptions = { indicator: 'gdp', districts: ['baoshan'], measures: ['level'], years: { from: 2021, to: 2025 } };
      const first = await loadVintages(client, options);
      expect(await loadVintages(client, options)).toEqual(first);
      expect(names(await loadVintages(client, { ...options, districts: ['jinshan'] }))).toEqual(['yoy2014', 'jinshan2024']);
    } finally {
      client.release();
    }
  });
});
