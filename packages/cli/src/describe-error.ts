import { NstError } from '@nst/shared/errors';

/** One human line for any error, naming the server when a connection failed. */
export function describeError(error: unknown): string {
  if (error instanceof NstError) return error.message;
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    const address = (error as { address?: string; port?: number }).address;
    const port = (error as { port?: number }).port;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
      const where = address ? ` at ${address}${port ? `:${port}` : ''}` : '';
      const server = port === 6379 ? 'Redis' : port === 5432 ? 'PostgreSQL' : 'server';
      return `cannot reach ${server}${where} (${code})`;
    }
    return error.message.split('\n')[0] ?? String(error);
  }
  return String(error);
}
