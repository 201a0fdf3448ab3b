/**
 * Error classes that carry their meaning across the pipeline.
 *
 * - `NonRetryableError` (and subclasses): bad input, 4xx, validation. Workers map it to BullMQ's
 *   `UnrecoverableError` so the job fails at once instead of burning its attempts.
 * - `RetryableError`: upstream trouble (5xx, timeouts, connection loss). It keeps `cause` so the
 *   log line says what really happened; BullMQ retries it with backoff.
 */

export class NstError extends Error {
  /** A short, stable machine-readable reason (snake_case), e.g. `ssrf_private_address`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NstError';
    this.code = code;
  }
}

export class NonRetryableError extends NstError {
  readonly retryable = false as const;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'NonRetryableError';
  }
}

export class RetryableError extends NstError {
  readonly retryable = true as const;
  /** Milliseconds the upstream asked us to wait (Retry-After), when it said so. */
  readonly retryAfterMs: number | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(code, message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** A payload or record that does not match its schema. Never retried. */
export class ValidationError extends NonRetryableError {
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = []) {
    super('validation_failed', message);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/** A configuration problem (environment, seeds). Printed as one line; the process exits non-zero. */
export class ConfigError extends NonRetryableError {
  constructor(message: string) {
    super('config_invalid', message);
    this.name = 'ConfigError';
  }
}

/** The stable reason code of an error, for logs and the fetch/reject tables. */
export function errorCode(error: unknown): string {
  if (error instanceof NstError) return error.code;
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code.toLowerCase();
  }
  return 'internal_error';
}

/** Socket errors that mean "the server is not reachable right now". */
const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
/**
 * SQLSTATEs of a database that is going away or not taking connections: class 08 (connection
 * exception), admin/crash shutdown, cannot connect now, too many connections.
 */
const CONNECTION_SQLSTATES = /^(?:08...|57P01|57P02|57P03|53300)$/;
const CONNECTION_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection ended unexpectedly|Client was closed and is not queryable/i;

/**
 * Whether `error` says our own infrastructure (PostgreSQL) is unreachable, rather than anything
 * about the job: a lost or refused connection. Such a job is not at fault and must not spend its
 * attempts: it waits for the server to return. Typed pipeline errors (`NstError`, e.g. an
 * upstream publisher's network error) are never this: they carry their own retry policy.
 */
export function isConnectionLoss(error: unknown): boolean {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 5; current = (current as { cause?: unknown }).cause, depth += 1) {
    if (current instanceof NstError) return false;
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (CONNECTION_ERRNOS.has(code) || CONNECTION_SQLSTATES.test(code))) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGES.test(message)) return true;
  }
  return false;
}
