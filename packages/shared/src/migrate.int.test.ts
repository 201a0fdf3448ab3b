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
