import { z } from 'zod';
import { boolVar, commonEnvShape, intVar, loadEnv } from '@nst/shared/env';

/** FETCH_MAX_POLITE_WAIT_MS's default, for callers that build the fetcher's options without it. */
export const DEFAULT_MAX_POLITE_WAIT_MS = 1_000;

export const FetcherEnv = z.object({
  ...commonEnvShape,
  /** Port of /healthz, /readyz, /metrics. */
  PORT: intVar(9101, 0, 65535),
  /** Concurrent fetch jobs per replica (each still waits for its host's rate limit). */
  FETCH_CONCURRENCY: intVar(8, 1, 256),
  /**
   * Longest a fetch job waits for its host's turn in its worker place, in ms (and never longer than
   * the host's delay: only the next turn is waited for in a place). A job whose turn is further away
   * goes back to the queue, delayed until shortly before it, and the place takes the next job
   * (another host's): one host's backlog does not hold the fetcher's places.
   */
  FETCH_MAX_POLITE_WAIT_MS: intVar(DEFAULT_MAX_POLITE_WAIT_MS, 0, 60_000),
  /** Attempts per fetch job (network errors, 5xx, 408, 429 are retried). */
  FETCH_ATTEMPTS: intVar(5, 1, 20),
  /** Base delay of the exponential backoff between attempts, in ms (jittered ±50%). */
  FETCH_BACKOFF_MS: intVar(2_000, 1, 600_000),
  /** Connect timeout, in ms (the total timeout is per source: politeness.timeoutMs). */
  FETCH_CONNECT_TIMEOUT_MS: intVar(5_000, 100, 120_000),
  /** Redirect hops followed, each re-checked against the allow-list and the address rules. */
  FETCH_MAX_REDIRECTS: intVar(5, 0, 20),
  /** The identifying User-Agent sent with every request: printable ASCII, as a header value must be. */
  FETCH_USER_AGENT: z.string().min(8).regex(/^[\x20-\x7e]+$/, 'must be printable ASCII (a header value; no dash but "-")')
    .default('nst-tracker/0.1 (+https://github.com/nst-tracker; North-South Transformation Tracker)'),
  /** Seconds an origin's robots.txt rules are cached; at most a day, as RFC 9309 §2.4 asks. */
  ROBOTS_CACHE_SECONDS: intVar(3_600, 0, 86_400),
  /** Run the cron scheduler in this replica (every replica may; ticks are deduplicated by job id). */
  SCHEDULER_ENABLED: boolVar(true),
  /** Map every source URL onto the offline publisher. */
  NST_OFFLINE: boolVar(false),
  /** Base URL of the offline publisher (the only loopback/private address ever fetched). */
  NST_PUBLISHER_URL: z.string().url().default('http://127.0.0.1:8720'),
  /** Seconds to let in-flight jobs finish on SIGTERM before closing anyway. */
  SHUTDOWN_GRACE_SECONDS: intVar(25, 0, 600),
});
export type FetcherEnv = z.infer<typeof FetcherEnv>;

export function readFetcherEnv(): FetcherEnv {
  return loadEnv(FetcherEnv, process.env);
}
