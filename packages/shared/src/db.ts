import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
export type QueryConfig = pg.QueryConfig;
export type QueryResult<R extends pg.QueryResultRow = pg.QueryResultRow> = pg.QueryResult<R>;
export type QueryResultRow = pg.QueryResultRow;

// numeric stays a string (published scale, never a lossy float); bigint ids become numbers,
// which is safe far beyond any archive we will hold (2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** JSON escapes that PostgreSQL's array syntax reads otherwise (its `\n` is an `n`); `\"` and `\\` it reads alike. */
const FOREIGN_ESCAPE = /\\[bfnrtu]/;

/**
 * `values` as a parameter for an array cast (`$1::text[]`, `$2::bigint[]` …): the same array as pg
 * would send, built in one native pass. pg encodes an array element by element, a handful of
 * strings for each; for the thousands of elements of a batch store that was a third of everything
 * the normalizer's main thread allocated (docs/performance.md). JSON writes strings, numbers,
 * booleans and null as PostgreSQL's array literal does, but for brackets and a few escapes: an
 * array holding anything else (a Date, whose text pg renders in local time; a nested array; a
 * string with a control character or a lone surrogate) is returned as it is, for pg to encode.
 */
export function arrayParam(values: readonly unknown[]): string | readonly unknown[] {
  for (const value of values) {
    if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number' && Number.isFinite(value)) continue;
    return values;
  }
  const json = JSON.stringify(values);
  // A false alarm (an escaped backslash before one of these letters) only leaves the work to pg.
  if (FOREIGN_ESCAPE.test(json)) return values;
  return `{${json.slice(1, -1)}}`;
}

/** Options for {@link createPool}. */
export interface PoolOptions {
  /** Maximum connections; default 10. */
  max?: number;
  /** `application_name`, shown in pg_stat_activity. */
  applicationName?: string;
}

export function createPool(connectionString: string, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'nst',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 10_000,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor may a checked-out one (inside a transaction, between two queries): pg emits 'error' on the
  // client, and an 'error' event nobody listens to kills the process. The loss still reaches the
  // caller, as the rejection of the query in flight or of the next one; the pool then drops it.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/** Run `fn` in a transaction on one client; rolls back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Options for {@link createStatisticsKeeper}. */
export interface StatisticsKeeperOptions {
  /**
   * Tables to keep analyzed (schema-qualified), each with the columns the planner needs statistics
   * of (the columns its lookups filter or join on; all columns when absent). Fewer columns, cheaper
   * analyses: the whole of core.observation took 0.5 s a time at 130,000 rows.
   */
  tables: ReadonlyArray<{ name: string; columns?: readonly string[] }>;
  /** Rows this process writes between two looks at the tables' counters; default 5,000. */
  checkEveryRows?: number;
  /**
   * Analyze a table once it grew by this fraction since its last analysis; default 1 (a table filled
   * from empty is analyzed each time it doubled). What matters to the plans is that a table has
   * statistics at all; autovacuum, where it runs, analyzes far more often (at 10% changed). Growth,
   * not `n_mod_since_analyze`: an analysis of some columns does not reset that counter.
   */
  fraction?: number;
  /** Told when a table was analyzed, or why it could not be. */
  onEvent?: (event: { table: string; analyzed: boolean; error?: Error }) => void;
}

export interface StatisticsKeeper {
  /** Count rows this process wrote; every `checkEveryRows` of them, look (in the background). */
  noteWritten(rows: number): void;
  /** The look in flight, if any (tests and shutdown wait for it). */
  settled(): Promise<void>;
}

/**
 * Planner statistics for tables a backfill fills from empty. PostgreSQL's autovacuum analyzes a
 * table once 10% of it changed; where it is off (as on our CI machines) or behind, the planner keeps
 * guessing from no statistics and chose, for the normalizer's key lookups, an index matching three
 * of five key columns: 0.2 ms instead of 4 µs per key, for ever. This does what autovacuum would,
 * with a higher threshold (so that with autovacuum on it has nothing left to do): a table with more
 * than 50 + (1 + `fraction`) × the rows it had at its last analysis is analyzed, by one
 * process at a time (a transaction-level advisory lock), without blocking writers (ANALYZE takes a
 * SHARE UPDATE EXCLUSIVE lock). A role that may not analyze is told once and left alone.
 */
export function createStatisticsKeeper(pool: pg.Pool, options: StatisticsKeeperOptions): StatisticsKeeper {
  const every = options.checkEveryRows ?? 5_000;
  const fraction = options.fraction ?? 1;
  const columns = new Map(options.tables.map((table) => [table.name, table.columns]));
  const refused = new Set<string>();
  let written = 0;
  let inFlight: Promise<void> | null = null;
  // A listener that throws must not turn into an unhandled rejection of the background look.
  const tell: NonNullable<StatisticsKeeperOptions['onEvent']> = (event) => {
    try {
      options.onEvent?.(event);
    } catch {
      // the listener's own fault; the keeper carries on
    }
  };

  const look = async (): Promise<void> => {
    const tables = options.tables.map((table) => table.name).filter((name) => !refused.has(name));
    if (tables.length === 0) return;
    // ANALYZE by a role that may not analyze a table only warns and skips it: ask first (the owner,
    // the database's owner or a superuser may; MAINTAIN of PostgreSQL 17 is not looked at).
    const { rows } = await pool.query<{ name: string; qualified: string; permitted: boolean }>(
      `SELECT t.name, s.relid::regclass::text AS qualified,
              pg_has_role(c.relowner, 'USAGE') OR pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
                OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS permitted
       FROM unnest($1::text[]) AS t(name)
       JOIN pg_stat_user_tables s ON s.relid = to_regclass(t.name) JOIN pg_class c ON c.oid = s.relid
       WHERE s.n_live_tup > 50 + (1 + $2::float8) * greatest(c.reltuples, 0)`,
      [tables, fraction],
    );
    for (const { name, qualified, permitted } of rows) {
      if (!permitted) {
        refused.add(name);
        tell({ table: name, analyzed: false, error: new Error(`this role may not analyze ${qualified} (not its owner)`) });
        continue;
      }
      try {
        const analyzed = await withTransaction(pool, async (client) => {
          const { rows: [lock] } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtextextended($1, 7271)) AS ok', [name]);
          if (!lock?.ok) return false; // another process is analyzing it now
          // Behind a lock it cannot have soon (an anti-wraparound vacuum), it gives up until the next look.
          await client.query("SET LOCAL lock_timeout = '2s'");
          const only = columns.get(name);
          await client.query(`ANALYZE ${qualified}${only ? ` (${only.map((column) => pg.escapeIdentifier(column)).join(', ')})` : ''}`);
          return true;
        });
        if (analyzed) tell({ table: name, analyzed: true });
      } catch (error) {
        // insufficient_privilege: this role may not analyze the table, and never will.
        if ((error as { code?: string }).code === '42501') refused.add(name);
        tell({ table: name, analyzed: false, error: error as Error });
      }
    }
  };

  return {
    noteWritten(rows) {
      written += rows;
      if (written < every || inFlight) return;
      written = 0;
      inFlight = look()
        .catch((error: Error) => tell({ table: options.tables.map((table) => table.name).join(', '), analyzed: false, error }))
        .finally(() => {
          inFlight = null;
        });
    },
    settled: () => inFlight ?? Promise.resolve(),
  };
}
