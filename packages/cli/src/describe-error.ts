import { NstError } from '@nst/shared/errors';

/** One human line for any error. */
export function describeError(error: unknown): string {
  if (error instanceof NstError) return error.message;
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message.split('\n')[0] ?? String(error);
  return String(error);
}
