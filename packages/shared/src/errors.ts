/**
 * Error classes that carry their meaning across the pipeline.
 *
 * - `NonRetryableError` (and subclasses): bad input, 4xx, validation. Workers map it to BullMQ's
 *   `UnrecoverableError` so the job fails at once instead of burning its attempts.
 * - `RetryableError`: upstream trouble (5xx, timeouts, connection loss). It keeps `cause` so the
 *   log line says what really happened; BullMQ retries it with backoff.
 */
import { UnrecoverableError } from 'bullmq';

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

/**
 * Convert any thrown value into what BullMQ should see: non-retryable errors become
 * `UnrecoverableError` (keeping our code in the message prefix), everything else is re-thrown as is.
 */
export function toBullError(error: unknown): Error {
  if (error instanceof NonRetryableError) {
    const wrapped = new UnrecoverableError(`${error.code}: ${error.message}`);
    wrapped.cause = error;
    return wrapped;
  }
  if (error instanceof Error) return error;
  return new Error(String(error));
}

/** The stable reason code of an error, for logs and the fetch/reject tables. */
export function errorCode(error: unknown): string {
  if (error instanceof NstError) return error.code;
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') {
    return error.code.toLowerCase();
  }
  return 'internal_error';
}
