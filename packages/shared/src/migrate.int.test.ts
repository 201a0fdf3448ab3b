import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from './db';
import { migrate, MigrationError, readMigrations } from './migrate';
import { createTestDatabase, type TestDatabase } from './testing';

/** A fingerprint of everything a migration can change: relations, columns, functions, grants. */
async function schemaFingerprint(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query(`
    SELECT string_agg(line, E'\n' ORDER BY line) AS fp FROM (
      SELECT format('%s.%s.%s %s', table_schema, table_name, column_name, data_type) AS line
        FROM information_schema.columns WHERE table_schema IN ('raw', 'core', 'agg', 'public')
      UNION ALL
      SELECT format('grant %s %s.%s %s', grantee, table_schema, table_name, privilege_type)
        FROM information_schema.role_table_grants WHERE table_schema IN ('raw', 'core', 'agg')
      UNION ALL
      SELECT format('fn %s.%s', n.nspname, p.proname) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('raw', 'core', 'agg')
      UNION ALL
      SELECT format('migration %s %s %s', id, name, applied_at) FROM public.nst_migration
    ) t`);
  return rows[0].fp as string;
}

describe('migrate', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
  });
  afterEach(async () => {
    await db.drop();
  });

  it('applies every migration on an empty database, and a second run changes nothing', async () => {
    const all = await readMigrations();
    const first = await migrate(db.pool);
    expect(first.applied).toEqual(all.map((m) => m.name));
    const before = await schemaFingerprint(db.pool);

    const second = await migrate(db.pool);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toBe(all.length);
    expect(await schemaFingerprint(db.pool)).toBe(before);
  });

  it('two migrators started at once: one applies, the other waits and does nothing', async () => {
    const other = createPool(db.url, { max: 2, applicationName: 'nst-test-migrator-2' });
    try {
      const [a, b] = await Promise.all([migrate(db.pool), migrate(other)]);
      const counts = [a.applied.length, b.applied.length].sort();
      const total = (await readMigrations()).length;
      expect(counts).toEqual([0, total]);
      const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM public.nst_migration');
      expect(rows[0].n).toBe(total);
    } finally {
      await other.end();
    }
  });

  describe('a failing migration', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nst-migrations-'));
      await writeFile(join(dir, '0001_good.sql'), '-- Why: a table that should stay.\nCREATE TABLE public.kept (id int);\n');
      await writeFile(
        join(dir, '0002_bad.sql'),
        '-- Why: half of this would be applied without a transaction.\nCREATE TABLE public.half (id int);\nSELECT 1/0;\n',
      );
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('leaves no half-applied state, and applies once fixed', async () => {
      await expect(migrate(db.pool, { dir })).rejects.toThrow(MigrationError);
      await expect(migrate(db.pool, { dir })).rejects.toThrow(/0002_bad\.sql: division by zero/);
      const tables = await db.pool.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(['kept', 'nst_migration']);
      const applied = await db.pool.query('SELECT name FROM public.nst_migration ORDER BY id');
      expect(applied.rows.map((r) => r.name)).toEqual(['0001_good.sql']);

      await writeFile(join(dir, '0002_bad.sql'), '-- Why: fixed.\nCREATE TABLE public.half (id int);\n');
      const fixed = await migrate(db.pool, { dir });
      expect(fixed.applied).toEqual(['0002_bad.sql']);
    });

    it('refuses a migration edited after it was applied', async () => {
      await writeFile(join(dir, '0002_bad.sql'), '-- Why: fine.\nCREATE TABLE public.half (id int);\n');
      await migrate(db.pool, { dir });
      await writeFile(join(dir, '0001_good.sql'), '-- Why: edited.\nCREATE TABLE public.kept (id bigint);\n');
      await expect(migrate(db.pool, { dir })).rejects.toThrow(/0001_good\.sql: was edited after it was applied/);
    });
  });
});

/**
 * Apply only the migrations before `name` (copied to a folder of their own, returned, for the test
 * to remove), and add an indicator, a source and three documents: a database of an older model,
 * for a test to fill and then migrate.
 */
async function migrateBefore(db: TestDatabase, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nst-migrations-'));
  for (const migration of (await readMigrations()).filter((m) => m.name < name)) await writeFile(join(dir, migration.name), migration.sql);
  await migrate(db.pool, { dir });
  await db.pool.query(`
    INSERT INTO core.indicator (code, name_zh, name_en, unit, unit_mult, additive) VALUES ('gdp', '地区生产总值', 'GDP', 'CNY', 8, true);
    INSERT INTO raw.source (key, name, publisher, format, url, schedule) VALUES ('src', 'source', 'publisher', 'bulletin', 'https://example.gov.cn/', '0 6 * * *');
    INSERT INTO raw.document (id, source_key, url, final_url, http_status, body_gzip, body_size, sha256_bytes, sha256_canonical, role, format)
    SELECT i, 'src', 'https://example.gov.cn/' || i, 'https://example.gov.cn/' || i, 200, '\\x00', 1, repeat('a', 64), repeat('a', 64), 'document', 'bulletin' FROM generate_series(1, 3) i;`);
  return dir;
}

describe('0012: each publication stored once', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    // The migrations before 0012, applied to a database that then holds publications and vintages of the old model.
    dir = await migrateBefore(db, '0012');
    await db.pool.query(`
      -- Documents 1 and 3 open the key's two vintages; document 2 republished document 1's figure.
      INSERT INTO core.publication (district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, published_at,
                                    document_id, url, locator, parser_version)
      VALUES ('baoshan', 'gdp', 'level', 'period', '2024', 1802.35, '1,802.35', 'CNY', 8, 'final', 'unknown', '2025-03-28T07:00:00Z', 1, 'https://example.gov.cn/1', 'a', 'v1'),
             ('baoshan', 'gdp', 'level', 'period', '2024', 1802.35, '1802.35', 'CNY', 8, 'final', 'unknown', '2025-04-28T07:00:00Z', 2, 'https://example.gov.cn/2', 'b', 'v1'),
             ('baoshan', 'gdp', 'level', 'period', '2024', 1811.20, '1811.2', 'CNY', 8, 'final', 'unknown', '2025-09-30T02:00:00Z', 3, 'https://example.gov.cn/3', 'c', 'v1');
      INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult, status,
                                    basis, valid_from, valid_to, document_id, url, locator, parser_version)
      SELECT district, indicator, measure, accumulation, period, '2024-01-01', '2024-12-31', value, raw_value, unit, unit_mult, status, basis, published_at,
             CASE document_id WHEN 1 THEN '2025-09-30T02:00:00Z'::timestamptz END, document_id, url, locator, parser_version
      FROM core.publication WHERE document_id IN (1, 3);`);
  });
  afterEach(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const publications = async () => (await db.pool.query(
    "SELECT document_id, value::text, raw_value, published_at, url, locator, opens_vintage FROM core.publication ORDER BY document_id")).rows;

  it('keeps in core.quiet_publication only the publications that open no vintage; core.publication shows them all as before', async () => {
    const before = (await db.pool.query('SELECT document_id, value::text, raw_value, published_at, url, locator FROM core.publication ORDER BY document_id')).rows;
    const vintages = (await db.pool.query('SELECT * FROM core.observation ORDER BY id')).rows;
    await migrate(db.pool);
    expect((await db.pool.query('SELECT document_id FROM core.quiet_publication')).rows).toEqual([{ document_id: 2 }]);
    expect(await publications()).toEqual(before.map((row) => ({ ...row, opens_vintage: row.document_id !== 2 })));
    // Their ends derived since 0015.
    expect((await db.pool.query('SELECT * FROM core.observation_vintage ORDER BY id')).rows).toEqual(vintages);
  });

  it('refuses, changing nothing, a database where one document holds two vintages of a key', async () => {
    await db.pool.query(`INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit,
                           unit_mult, status, basis, valid_from, valid_to, document_id, url, locator, parser_version)
                         SELECT district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult, status, basis,
                                valid_from - interval '1 day', valid_from, document_id, url, locator, parser_version
                         FROM core.observation WHERE document_id = 1`);
    await expect(migrate(db.pool)).rejects.toThrow(/more than one vintage of a key from one document/);
    expect((await db.pool.query("SELECT to_regclass('core.quiet_publication') AS t")).rows[0].t).toBeNull();
    expect((await db.pool.query('SELECT count(*)::int AS n FROM core.publication')).rows[0].n).toBe(3);
  });
});

describe('0015: a vintage ends where the next of its key starts', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    // The migrations before 0015, and vintages with their ends written, as every store wrote them:
    // a key revised twice (the last vintage open), and a key published once.
    dir = await migrateBefore(db, '0015');
    await db.pool.query(`
      INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult, status,
                                    basis, valid_from, valid_to, document_id, url, locator, parser_version)
      VALUES ('baoshan', 'gdp', 'level', 'period', '2024', '2024-01-01', '2024-12-31', 1802.35, '1,802.35', 'CNY', 8, 'provisional', 'unknown',
              '2025-03-28T07:00:00Z', '2025-06-30T02:00:00.123Z', 1, 'https://example.gov.cn/1', 'a', 'v1'),
             ('baoshan', 'gdp', 'level', 'period', '2024', '2024-01-01', '2024-12-31', 1809.00, '1809', 'CNY', 8, 'final', 'unknown',
              '2025-06-30T02:00:00.123Z', '2025-09-30T02:00:00Z', 2, 'https://example.gov.cn/2', 'b', 'v1'),
             ('baoshan', 'gdp', 'level', 'period', '2024', '2024-01-01', '2024-12-31', 1811.20, '1811.2', 'CNY', 8, 'final', 'unknown',
              '2025-09-30T02:00:00Z', NULL, 3, 'https://example.gov.cn/3', 'c', 'v1'),
             ('jinshan', 'gdp', 'level', 'period', '2024', '2024-01-01', '2024-12-31', 1290.10, '1290.1', 'CNY', 8, 'final', 'unknown',
              '2025-03-28T07:00:00Z', NULL, 1, 'https://example.gov.cn/1', 'd', 'v1');`);
  });
  afterEach(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  /** What every reader of the vintages sees: current, as of instants around each change, and the consumer views. */
  async function readings(vintages: string): Promise<unknown[]> {
    const instants = ['2025-01-01', '2025-03-28T07:00:00Z', '2025-06-30T02:00:00.122Z', '2025-06-30T02:00:00.123Z', '2025-08-01', '2025-09-30T02:00:00Z', '2026-01-01'];
    const read = async (sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows;
    return [
      await read(`SELECT * FROM ${vintages} ORDER BY id`),
      await read('SELECT * FROM core.observation_current ORDER BY id'),
      ...(await Promise.all(instants.map((t) => read('SELECT id, value::text FROM core.observation_as_of($1) ORDER BY id', [t])))),
      await read('SELECT * FROM agg.series ORDER BY observation_id'),
      await read('SELECT * FROM agg.observation_source ORDER BY observation_id'),
    ];
  }

  it('drops the written ends, and every view reads what it read before', async () => {
    const before = await readings('core.observation');
    expect(before[2]).toEqual([]);
    await migrate(db.pool);
    const columns = await db.pool.query("SELECT 1 FROM information_schema.columns WHERE table_schema = 'core' AND table_name = 'observation' AND column_name = 'valid_to'");
    expect(columns.rowCount).toBe(0);
    expect(await readings('core.observation_vintage')).toEqual(before);
  });

  it('refuses, changing nothing, a database where a vintage ends elsewhere than where the next one starts', async () => {
    await db.pool.query("UPDATE core.observation SET valid_to = '2025-12-31T00:00:00Z' WHERE document_id = 3");
    const before = await readings('core.observation');
    await expect(migrate(db.pool)).rejects.toThrow(/1 vintages of core.observation end elsewhere than where the next vintage of their key starts \(the first: gdp\|baoshan\|2024\|level\|period\|/);
    expect(await readings('core.observation')).toEqual(before);
    expect((await db.pool.query('SELECT max(id)::int AS id FROM public.nst_migration')).rows[0].id).toBe(14);
  });
});
