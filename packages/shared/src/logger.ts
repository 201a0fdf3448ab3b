import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Options for {@link createLogger}. */
export interface LoggerFactoryOptions {
  /** Service or command name, added to every line as `service`. */
  service: string;
  /** pino level; default `info`. */
  level?: string;
  /** Where to write; default stdout (fd 1). Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

/**
 * JSON logs (pino). Secrets never reach a line: connection strings and credentials are redacted
 * wherever they appear under these keys.
 */
export function createLogger(options: LoggerFactoryOptions): Logger {
  const config: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'password',
        '*.password',
        'databaseUrl',
        'redisUrl',
        '*.databaseUrl',
        '*.redisUrl',
        'env.DATABASE_URL',
        'env.REDIS_URL',
        'headers.authorization',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

/** Remove the user:password part of a URL so it can be shown to a person. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
