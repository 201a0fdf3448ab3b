/**
 * The migration runner: numbered, append-only `.sql` files in `packages/shared/migrations/`, each
 * applied in its own transaction under a session advisory lock, so two `nst migrate` started at
 * once are safe (one applies, the other waits and then finds nothing to do), and a failing file
 * leaves nothing half-applied.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { NonRetryableError } from './errors';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** Arbitrary but fixed: every migrator of every deployment contends for this one lock key. */
const MIGRATION_LOCK_KEY = 727_004_2022;

export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export class MigrationError extends NonRetryableError {
  readonly migration: string;
  constructor(migration: string, message: string, options?: { cause?: unknown }) {
    super('migration_failed', `${migration}: ${message}`, options);
    this.name = 'MigrationError';
    this.migration = migration;
  }
}

/** Read `NNNN_slug.sql` files in order. Anything else in the folder is an error, not ignored. */
export async function readMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => !file.startsWith('.')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new MigrationError(file, 'file name must look like 0001_slug.sql');
    const sql = await readFile(`${dir}/${file}`, 'utf8');
    const id = Number(match[1]);
    if (migrations.some((m) => m.id === id)) throw new MigrationError(file, `duplicate migration number ${id}`);
    migrations.push({ id, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

/** Options for {@link migrate}. */
export interface MigrateOptions {
  /** Folder of `.sql` files; default the project's migrations. */
  dir?: string;
  /** Called once per applied file. */
  onApplied?: (name: string) => void;
}

export async function migrate(pool: pg.Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await readMigrations(options.dir);
  const client = await pool.connect();
  try {
    // Session-level lock: held across the per-file transactions, released in `finally`.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS public.nst_migration (
        id integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ id: number; name: string; checksum: string }>(
      'SELECT id, name, checksum FROM public.nst_migration',
    );
    const done = new Map(rows.map((row) => [row.id, row]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const previous = done.get(migration.id);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new MigrationError(migration.name, 'was edited after it was applied; migrations are append-only');
        }
        continue;
      }
      try {
        await client.query('BEGIN');
        await client.query(migration.sql);
        await client.query('INSERT INTO public.nst_migration (id, name, checksum) VALUES ($1, $2, $3)', [
          migration.id,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(migration.name, error instanceof Error ? error.message : String(error), { cause: error });
      }
      applied.push(migration.name);
      options.onApplied?.(migration.name);
    }
    return { applied, alreadyApplied: done.size };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    client.release();
  }
}
