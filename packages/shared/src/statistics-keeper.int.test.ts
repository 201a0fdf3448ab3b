/**
 * createStatisticsKeeper against real PostgreSQL: a table filled and never analyzed is analyzed
 * (on the requested columns only) once enough rows were written, not before; a table that has not
 * grown by `fraction` since is left alone; and a role that may not analyze is told once, then not
 * asked again.
 *
 * pg_stat counters reach shared memory when a backend flushes them: every write here is followed by
 * pg_stat_force_next_flush() on the same connection, and the test waits until the counters show the
 * rows before asking the keeper to look.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi, type Mock } from 'vitest';
import { createPool, createStatisticsKeeper, type Pool, type StatisticsKeeper, type StatisticsKeeperOptions } from './db';
import { createTestDatabase, randomSuffix, testServerUrls, type TestDatabase } from './testing';

type KeeperEvent = Parameters<NonNullable<StatisticsKeeperOptions['onEvent']>>[0];

interface TableStats {
  analyzeCount: number;
  liveTuples: number;
  reltuples: number;
  /** Columns with planner statistics (pg_stats rows). */
  columns: string[];
}

describe('createStatisticsKeeper', () => {
  let db: TestDatabase;
  let writer: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    writer = new pg.Client({ connectionString: db.url, application_name: 'nst-test-writer' });
    await writer.connect();
    // Autovacuum off for these tables (where the server runs it): only the keeper analyzes them.
    for (const table of ['filled', 'small', 'halved', 'not_mine']) {
      await writer.query(`CREATE TABLE public.${table} (id int PRIMARY KEY, a int NOT NULL, b text NOT NULL, c int) WITH (autovacuum_enabled = false)`);
    }
  });
  afterAll(async () => {
    await writer?.end();
    await db?.drop();
  });

  /** Insert rows `from`..`to` and flush this backend's counters. */
  async function insert(table: string, from: number, to: number): Promise<void> {
    await writer.query(`INSERT INTO public.${table} SELECT g, g % 97, 'b' || g, g FROM generate_series($1::int, $2::int) AS g`, [from, to]);
    await writer.query('SELECT pg_stat_force_next_flush()');
  }

  async function stats(table: string): Promise<TableStats> {
    const { rows: [row] } = await db.pool.query<TableStats>(
      `SELECT s.analyze_count::int AS "analyzeCount", s.n_live_tup::int AS "liveTuples", c.reltuples::float8 AS reltuples,
              ARRAY(SELECT attname::text FROM pg_stats WHERE schemaname = 'public' AND tablename = $1 ORDER BY attname) AS columns
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = to_regclass('public.' || $1)`,
      [table],
    );
    return row!;
  }

  /** Poll the counters until `ready` holds (they are flushed before the keeper is asked; this only absorbs lag). */
  async function statsWhen(table: string, ready: (s: TableStats) => boolean): Promise<TableStats> {
    let current = await stats(table);
    for (let poll = 0; poll < 100 && !ready(current); poll += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      await db.pool.query('SELECT pg_stat_clear_snapshot()');
      current = await stats(table);
    }
    return current;
  }

  /** Insert rows `from`..`to` and wait until the counters show `to` live rows. */
  async function grow(table: string, from: number, to: number): Promise<void> {
    await insert(table, from, to);
    await statsWhen(table, (s) => s.liveTuples === to);
  }

  /** Tell the keeper `rows` were written and wait for the look that may start. */
  async function write(keeper: StatisticsKeeper, rows: number): Promise<void> {
    keeper.noteWritten(rows);
    await keeper.settled();
  }

  /** Counts the looks (each begins with one pool.query; the queries still go to PostgreSQL). */
  function countQueries(pool: Pool): Mock<(sent: unknown) => void> {
    const queries = vi.fn<(sent: unknown) => void>();
    const query = pool.query.bind(pool);
    vi.spyOn(pool, 'query').mockImplementation(((...args: Parameters<typeof query>) => {
      queries(args[0]);
      return query(...args);
    }) as typeof pool.query);
    return queries;
  }

  describe('a keeper of the table owner', () => {
    let pool: Pool;
    let keeper: StatisticsKeeper;
    const events: KeeperEvent[] = [];
    let queries: Mock<(sent: unknown) => void>;

    beforeAll(async () => {
      await insert('filled', 1, 3000);
      await insert('small', 1, 10);
      pool = createPool(db.url, { max: 2, applicationName: 'nst-test-keeper' });
      queries = countQueries(pool);
      keeper = createStatisticsKeeper(pool, {
        tables: [{ name: 'public.filled', columns: ['a', 'b'] }, { name: 'public.small' }],
        checkEveryRows: 1000,
        onEvent: (event) => events.push(event),
      });
      expect(await statsWhen('filled', (s) => s.liveTuples === 3000)).toMatchObject({ liveTuples: 3000, reltuples: -1, analyzeCount: 0, columns: [] });
    });
    afterAll(async () => {
      await keeper?.settled();
      await pool?.end();
    });

    it('does not look at all before checkEveryRows rows were written', async () => {
      keeper.noteWritten(600);
      await write(keeper, 399);
      expect(queries).not.toHaveBeenCalled();
      expect(events).toEqual([]);
      expect(await stats('filled')).toMatchObject({ reltuples: -1, analyzeCount: 0, columns: [] });
    });

    it('then analyzes the table never analyzed, on the requested columns only, and says so', async () => {
      await write(keeper, 1); // 1,000 rows written in all
      expect(queries).toHaveBeenCalled();
      expect(events).toEqual([{ table: 'public.filled', analyzed: true }]);
      const filled = await statsWhen('filled', (s) => s.analyzeCount > 0);
      expect(filled).toMatchObject({ analyzeCount: 1, reltuples: 3000, columns: ['a', 'b'] });
      // 10 rows are below the 50-row floor: not analyzed.
      expect(await stats('small')).toMatchObject({ analyzeCount: 0, reltuples: -1, columns: [] });
    });

    it('leaves a table alone until it grew by `fraction` (default 1) since its last analysis', async () => {
      events.length = 0;
      queries.mockClear();
      // Not grown at all.
      await write(keeper, 1000);
      expect(queries).toHaveBeenCalled(); // it looked
      expect(events).toEqual([]);
      // Grown by two thirds (5,000 rows; 50 + 2 × 3,000 = 6,050 needed).
      await grow('filled', 3001, 5000);
      await write(keeper, 1000);
      expect(events).toEqual([]);
      expect(await stats('filled')).toMatchObject({ analyzeCount: 1, reltuples: 3000 });
      // Doubled and more (6,100 rows): analyzed again.
      await grow('filled', 5001, 6100);
      await write(keeper, 1000);
      expect(events).toEqual([{ table: 'public.filled', analyzed: true }]);
      expect(await statsWhen('filled', (s) => s.analyzeCount > 1)).toMatchObject({ analyzeCount: 2, reltuples: 6100, columns: ['a', 'b'] });
      expect(await stats('small')).toMatchObject({ analyzeCount: 0 });
    });
  });

  describe('a keeper with a fractional `fraction`', () => {
    let pool: Pool;
    let keeper: StatisticsKeeper;
    const events: KeeperEvent[] = [];

    beforeAll(async () => {
      await insert('halved', 1, 3000);
      pool = createPool(db.url, { max: 2, applicationName: 'nst-test-keeper-fraction' });
      keeper = createStatisticsKeeper(pool, {
        tables: [{ name: 'public.halved', columns: ['a'] }],
        checkEveryRows: 1,
        fraction: 0.5,
        onEvent: (event) => events.push(event),
      });
      expect(await statsWhen('halved', (s) => s.liveTuples === 3000)).toMatchObject({ liveTuples: 3000, reltuples: -1 });
    });
    afterAll(async () => {
      await keeper?.settled();
      await pool?.end();
    });

    it('analyzes a table never analyzed, then again once it grew by half', async () => {
      await write(keeper, 1);
      expect(events).toEqual([{ table: 'public.halved', analyzed: true }]);
      expect(await statsWhen('halved', (s) => s.analyzeCount > 0)).toMatchObject({ analyzeCount: 1, reltuples: 3000, columns: ['a'] });
      // 4,000 rows: not yet (50 + 1.5 × 3,000 = 4,550); 4,600 rows: analyzed.
      await grow('halved', 3001, 4000);
      await write(keeper, 1);
      expect(events).toHaveLength(1);
      await grow('halved', 4001, 4600);
      await write(keeper, 1);
      expect(events).toEqual([{ table: 'public.halved', analyzed: true }, { table: 'public.halved', analyzed: true }]);
      expect(await statsWhen('halved', (s) => s.analyzeCount > 1)).toMatchObject({ analyzeCount: 2, reltuples: 4600 });
    });
  });

  describe('a keeper of a role that may not analyze the table', () => {
    const role = `nst_test_keeper_${randomSuffix()}`;
    let pool: Pool;
    let keeper: StatisticsKeeper;
    const events: KeeperEvent[] = [];
    let queries: Mock<(sent: unknown) => void>;

    beforeAll(async () => {
      await insert('not_mine', 1, 3000);
      // A role that owns nothing: it may connect and see the table in pg_stat_user_tables, no more.
      await writer.query(`CREATE ROLE ${role} LOGIN`);
      const url = new URL(db.url);
      url.username = role;
      url.password = '';
      pool = createPool(url.toString(), { max: 2, applicationName: 'nst-test-keeper-role' });
      queries = countQueries(pool);
      keeper = createStatisticsKeeper(pool, {
        tables: [{ name: 'public.not_mine', columns: ['a'] }],
        checkEveryRows: 1,
        onEvent: (event) => events.push(event),
      });
      expect(await statsWhen('not_mine', (s) => s.liveTuples === 3000)).toMatchObject({ liveTuples: 3000, reltuples: -1 });
    });
    afterAll(async () => {
      await keeper?.settled();
      await pool?.end();
      const admin = createPool(testServerUrls().databaseUrl, { max: 1, applicationName: 'nst-test-admin' });
      try {
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
      } finally {
        await admin.end();
      }
    });

    it('is told it could not analyze, with the error, and the table is not analyzed', async () => {
      await write(keeper, 1);
      expect(await stats('not_mine')).toMatchObject({ analyzeCount: 0, reltuples: -1, columns: [] });
      expect(events).toEqual([{ table: 'public.not_mine', analyzed: false, error: expect.any(Error) }]);
    });

    it('is not asked again: the next look emits nothing for that table', async () => {
      events.length = 0;
      queries.mockClear();
      await write(keeper, 1);
      expect(events).toEqual([]);
      expect(queries).not.toHaveBeenCalled();
    });
  });
});
