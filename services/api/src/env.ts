import { z } from 'zod';
import { commonEnvShape, intVar, loadEnv } from '@nst/shared/env';

const postgresUrl = z.string().refine(
  (value) => {
    try {
      return ['postgres:', 'postgresql:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be a postgres:// or postgresql:// URL, e.g. postgres://nst_reader@127.0.0.1:5432/test' },
);

export const ApiEnv = z
  .object({
    ...commonEnvShape,
    /**
     * The read-only connection: the API only ever connects as `nst_reader` (SELECT on schema agg).
     * Default: DATABASE_URL with the user replaced by nst_reader and no password.
     */
    API_DATABASE_URL: postgresUrl.optional(),
    /** Port of the API, the dashboard and /healthz, /readyz, /metrics. */
    PORT: intVar(9104, 0, 65535),
    /** Bind address; default 0.0.0.0 (containers). */
    API_HOST: z.string().min(1).default('0.0.0.0'),
    /** Connections of the reader pool. */
    API_POOL_MAX: intVar(10, 1, 100),
    /** Longest a query may run, in ms, before PostgreSQL cancels it (a slow consumer query must not pile up). */
    API_STATEMENT_TIMEOUT_MS: intVar(10_000, 100, 600_000),
    /** Seconds to let in-flight requests finish on SIGTERM before closing anyway. */
    SHUTDOWN_GRACE_SECONDS: intVar(10, 0, 600),
  })
  .transform((env) => ({ ...env, API_DATABASE_URL: env.API_DATABASE_URL ?? readerUrlOf(env.DATABASE_URL) }));
export type ApiEnv = z.infer<typeof ApiEnv>;

/** DATABASE_URL with the user nst_reader (and no password: set one in API_DATABASE_URL). */
export function readerUrlOf(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.username = 'nst_reader';
  url.password = '';
  return url.toString();
}

export function readApiEnv(): ApiEnv {
  return loadEnv(ApiEnv, process.env);
}
