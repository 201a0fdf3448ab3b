/**
 * Environment helpers. Each service (and the CLI) reads `process.env` in exactly one place, its
 * own `env.ts`, by composing these fields into one zod schema and calling {@link loadEnv}.
 */
import { z } from 'zod';
import { ConfigError } from './errors';

const urlWithProtocols = (protocols: readonly string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL, e.g. ${example}` },
  );

/** The variables every process of the pipeline shares. Defaults work on a dev machine. */
export const commonEnvShape = {
  /** PostgreSQL connection string. */
  DATABASE_URL: urlWithProtocols(['postgres:', 'postgresql:'], 'postgres://postgres@127.0.0.1:5432/test').default(
    'postgres://postgres@127.0.0.1:5432/test',
  ),
  /** Redis connection string (BullMQ queues, rate limits). */
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:'], 'redis://127.0.0.1:6379').default('redis://127.0.0.1:6379'),
  /** Prefix of every BullMQ key, so several deployments (or tests) can share one Redis. */
  NST_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain only letters, digits, _ . : -')
    .default('nst'),
  /** Days failed jobs are kept so they can be replayed (completed jobs are trimmed after a day). */
  NST_FAILED_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(14),
  /**
   * How long a worker's lock on a job lasts (ms). A worker that dies mid-job (SIGKILL, lost
   * machine) has its job handed to another worker after about this long.
   */
  NST_JOB_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `development` allows dev-only conveniences (default ops credentials); anything else is strict. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
};

export const CommonEnv = z.object(commonEnvShape);
export type CommonEnv = z.infer<typeof CommonEnv>;

/** Parse an integer-valued variable with bounds. */
export const intVar = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Parse a boolean-ish variable (`1`, `true`, `yes`, `on` are true). */
export const boolVar = (fallback: boolean) =>
  z
    .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
    .default(fallback ? 'true' : 'false')
    .transform((value) => ['1', 'true', 'yes', 'on'].includes(value));

/**
 * Parse `source` with `schema`. On failure, throws a {@link ConfigError} whose message is one
 * line naming every bad variable and what is wrong with it (never echoing the value of a URL,
 * which may hold a password).
 */
export function loadEnv<T extends z.ZodType>(schema: T, source: Record<string, string | undefined>): z.infer<T> {
  // Empty strings mean "unset" for our purposes: `FOO= cmd` should fall back to the default.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, value]) => value !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'} ${issue.message}`);
  throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
}
