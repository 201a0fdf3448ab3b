import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// numeric stays a string (published scale, never a lossy float); bigint ids become numbers,
// which is safe far beyond any archive we will hold (2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

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
