/**
 * Migration 0017: core.observation's indicators are checked once per statement instead of by a
 * foreign key. What the foreign key guaranteed still holds, and fails as it failed (23503, under
 * the constraint's name).
 */
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from './db';
import { createTestDatabase, type TestDatabase } from './testing';

const VINTAGE_COLUMNS = `district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult, status,
                         basis, valid_from, document_id, url, locator, parser_version`;

/** One vintage of `indicator` from document `documentId`, for `period` (a year). */
const vintage = (indicator: string, documentId: number, period = '2024') =>
  `('baoshan', '${indicator}', 'level', 'period', '${period}', '${period}-01-01', '${period}-12-31', 1802.35, '1802.35', 'CNY', 8, 'final',
    'unknown', '2025-03-28T07:00:00Z', ${documentId}, 'https://example.gov.cn/1', 'table 1 row "GDP"', 'v1')`;

const failure = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (caught: unknown) => caught as pg.DatabaseError);
  if (!error) throw new Error('expected the statement to fail');
  return error;
};

describe('0017: core.observation names only indicators of the catalog', () => {
  let db: TestDatabase;
  let documentId: number;
  const others: pg.Pool[] = [];
  /** A second session, for what runs beside a transaction of the harness. */
  const session = () => {
    const pool = createPool(db.url, { max: 2, applicationName: 'nst-test-other' });
    others.push(pool);
    return pool;
  };

  beforeEach(async () => {
    db = await createTestDatabase();
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, body_gzip, body_size, sha256_bytes, sha256_canonical, role, format)
       SELECT key, url, url, 200, '\\x00', 1, repeat('a', 64), repeat('b', 64), 'document', 'stats-table' FROM raw.source ORDER BY key LIMIT 1
       RETURNING id`);
    documentId = rows[0]!.id;
    // An indicator no target or publication names: only core.observation's check keeps it.
    await db.pool.query(`INSERT INTO core.indicator (code, name_zh, name_en, aliases, unit, unit_mult, additive)
                         VALUES ('test_output', '测试产值', 'test output', '{}', 'CNY', 8, true)`);
  });
  afterEach(async () => {
    await Promise.all(others.splice(0).map((pool) => pool.end()));
    await db.drop();
  });

  const count = async () => (await db.pool.query('SELECT count(*)::int AS n FROM core.observation')).rows[0].n as number;
  /** One INSERT of a vintage of each indicator, from the test's document, on a pool or a session's client. */
  const insertVintages = (on: Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>, ...indicators: string[]) =>
    on.query(`INSERT INTO core.observation (${VINTAGE_COLUMNS}) VALUES ${indicators.map((indicator) => vintage(indicator, documentId)).join(', ')}`);

  it('refuses a statement whose vintages name an indicator not in the catalog, with every row of it', async () => {
    const error = await failure(insertVintages(db.pool, 'gdp', 'no_such_indicator'));
    expect(error.code).toBe('23503');
    expect(error.constraint).toBe('observation_indicator_fkey');
    expect(error.detail).toBe('Key (indicator)=(no_such_indicator) is not present in table "indicator".');
    expect(await count()).toBe(0);

    await insertVintages(db.pool, 'gdp', 'test_output');
    expect(await count()).toBe(2);
    // A vintage moved to an indicator that is not there is refused as well.
    const moved = await failure(db.pool.query("UPDATE core.observation SET indicator = 'no_such_indicator' WHERE indicator = 'test_output'"));
    expect(moved.code).toBe('23503');
    expect(moved.detail).toBe('Key (indicator)=(no_such_indicator) is not present in table "indicator".');
    await db.pool.query("UPDATE core.observation SET value = 1900 WHERE indicator = 'test_output'");
  });

  it('an indicator a vintage names is neither deleted nor given another code; its other columns change, an unnamed one goes', async () => {
    await insertVintages(db.pool, 'test_output');
    const deleted = await failure(db.pool.query("DELETE FROM core.indicator WHERE code = 'test_output'"));
    expect(deleted.code).toBe('23503');
    expect(deleted.constraint).toBe('observation_indicator_fkey');
    expect(deleted.detail).toBe('Key (code)=(test_output) is still referenced from table "observation".');
    const renamed = await failure(db.pool.query("UPDATE core.indicator SET code = 'test_output_2' WHERE code = 'test_output'"));
    expect(renamed.code).toBe('23503');
    await db.pool.query("UPDATE core.indicator SET name_en = 'test output, renamed', code = code WHERE code = 'test_output'");

    await db.pool.query("DELETE FROM core.observation WHERE indicator = 'test_output'");
    await db.pool.query("DELETE FROM core.indicator WHERE code = 'test_output'");
    expect((await db.pool.query("SELECT count(*)::int AS n FROM core.indicator WHERE code = 'test_output'")).rows[0].n).toBe(0);
  });

  it('a deletion waits for a store that names the indicator, then is refused; a store waits for a deletion, then is refused', async () => {
    const other = session();
    const waiting = async (pid: number) => {
      for (let poll = 0; poll < 100; poll += 1) {
        const { rows } = await db.pool.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [pid]);
        if (rows[0]?.wait_event_type === 'Lock') return true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return false;
    };

    // A store in flight holds the indicator: the deletion waits for it, then sees its vintage.
    const store = await db.pool.connect();
    const deleter = await other.connect();
    try {
      const deleterPid = (await deleter.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      await store.query('BEGIN');
      await insertVintages(store, 'test_output');
      const deletion = failure(deleter.query("DELETE FROM core.indicator WHERE code = 'test_output'"));
      expect(await waiting(deleterPid)).toBe(true);
      await store.query('COMMIT');
      expect((await deletion).code).toBe('23503');
    } finally {
      store.release();
      deleter.release();
    }
    expect(await count()).toBe(1);

    // A deletion in flight: the store waits for it, then finds the indicator gone.
    await db.pool.query('DELETE FROM core.observation');
    const deleting = await other.connect();
    const storing = await db.pool.connect();
    try {
      const storePid = (await storing.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      await deleting.query('BEGIN');
      await deleting.query("DELETE FROM core.indicator WHERE code = 'test_output'");
      const insert = failure(insertVintages(storing, 'test_output'));
      expect(await waiting(storePid)).toBe(true);
      await deleting.query('COMMIT');
      const error = await insert;
      expect(error.code).toBe('23503');
      expect(error.detail).toBe('Key (indicator)=(test_output) is not present in table "indicator".');
    } finally {
      deleting.release();
      storing.release();
    }
    expect(await count()).toBe(0);
  });

  it('refuses to delete, rename or truncate indicators in a REPEATABLE READ transaction, whose snapshot could hide a new vintage', async () => {
    const other = session();
    for (const change of ["DELETE FROM core.indicator WHERE code = 'test_output'", "UPDATE core.indicator SET code = 'test_output_2' WHERE code = 'test_output'",
      'TRUNCATE core.indicator CASCADE']) {
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        // The snapshot sees no vintage; another session then stores one and commits.
        expect((await client.query('SELECT count(*)::int AS n FROM core.observation')).rows[0].n).toBe(0);
        await insertVintages(other, 'test_output');
        const error = await failure(client.query(change));
        expect(error.code).toBe('0A000');
        expect(error.message).toMatch(/only in a READ COMMITTED transaction/);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      await db.pool.query('DELETE FROM core.observation');
    }
    await db.pool.query("DELETE FROM core.indicator WHERE code = 'test_output'");
  });

  it('TRUNCATE core.indicator leaves no vintage behind: refused while core.observation has rows, unless truncated with it', async () => {
    await insertVintages(db.pool, 'gdp');
    const error = await failure(db.pool.query('TRUNCATE core.indicator CASCADE'));
    expect(error.code).toBe('0A000');
    expect(error.message).toBe('cannot truncate a table referenced in a foreign key constraint');
    expect(await count()).toBe(1);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM core.indicator')).rows[0].n).toBeGreaterThan(1);

    await db.pool.query('TRUNCATE core.observation, core.indicator CASCADE');
    expect(await count()).toBe(0);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM core.indicator')).rows[0].n).toBe(0);
  });
});
