import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing';

describe('the nst_reader role', () => {
  let db: TestDatabase;
  let reader: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    url.username = 'nst_reader';
    url.password = '';
    reader = new pg.Client({ connectionString: url.toString(), application_name: 'nst-test-reader' });
    await reader.connect();
  });
  afterAll(async () => {
    await reader.end();
    await db.drop();
  });

  it('reads every table and view in agg', async () => {
    const { rows } = await db.pool.query<{ name: string }>(
      "SELECT format('agg.%I', table_name) AS name FROM information_schema.tables WHERE table_schema = 'agg'",
    );
    expect(rows.map((r) => r.name)).toEqual(
      expect.arrayContaining(['agg.progress_snapshot', 'agg.latest_progress', 'agg.series', 'agg.target']),
    );
    for (const { name } of rows) {
      await expect(reader.query(`SELECT * FROM ${name} LIMIT 1`), name).resolves.toBeDefined();
    }
    const targets = await reader.query('SELECT count(*)::int AS n FROM agg.target');
    expect(targets.rows[0].n).toBeGreaterThan(0);
  });

  it.each([
    ['raw.document', 'SELECT * FROM raw.document LIMIT 1'],
    ['raw.source', 'SELECT * FROM raw.source LIMIT 1'],
    ['raw.fetch_log', 'SELECT * FROM raw.fetch_log LIMIT 1'],
    ['core.observation', 'SELECT * FROM core.observation LIMIT 1'],
    ['core.observation_current', 'SELECT * FROM core.observation_current LIMIT 1'],
    ['core.observation_as_of()', 'SELECT * FROM core.observation_as_of(now())'],
    ['core.reject', 'SELECT * FROM core.reject LIMIT 1'],
  ])('is refused on %s', async (_name, sql) => {
    await expect(reader.query(sql)).rejects.toThrow(/permission denied/);
  });

  it.each([
    ['insert into agg.target', "INSERT INTO agg.plan_release (key, title_zh, title_en, issued_on) VALUES ('x', 'x', 'x', '2022-01-01')"],
    ['update agg.target', "UPDATE agg.target SET value = 1 WHERE key = 'ns-gdp-4000'"],
    ['delete from agg.progress_snapshot', 'DELETE FROM agg.progress_snapshot'],
    ['truncate agg.target', 'TRUNCATE agg.target CASCADE'],
    ['create in agg', 'CREATE TABLE agg.mine (id int)'],
    ['create in public', 'CREATE TABLE public.mine (id int)'],
    ['insert into raw.source', "INSERT INTO raw.source (key) VALUES ('x')"],
  ])('is refused on any write: %s', async (_name, sql) => {
    await expect(reader.query(sql)).rejects.toThrow(/permission denied/);
  });
});
