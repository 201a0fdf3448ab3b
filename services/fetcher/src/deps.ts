import type { Pool } from '@nst/shared/db';
import type { Queues } from '@nst/shared/jobs';
import type { Logger } from '@nst/shared/logger';
import type { Source } from '@nst/shared/seeds';
import type { Redis } from 'ioredis';
import { DEFAULT_MAX_POLITE_WAIT_MS, type FetcherEnv } from './env';
import type { FetchDeps } from './jobs/fetch-source';
import { createPolitenessGate } from './rate-limit';
import { createRobotsCache } from './robots';
import { createGuard } from './ssrf';
import { fetchJobOptions } from './worker';

/** Options for {@link createFetchDeps}. */
export interface CreateFetchDepsOptions {
  env: Pick<
    FetcherEnv,
    'NST_OFFLINE' | 'NST_PUBLISHER_URL' | 'NST_QUEUE_PREFIX' | 'FETCH_USER_AGENT' | 'FETCH_CONNECT_TIMEOUT_MS' | 'FETCH_MAX_REDIRECTS' | 'ROBOTS_CACHE_SECONDS' | 'FETCH_ATTEMPTS' | 'FETCH_BACKOFF_MS'
  > & Partial<Pick<FetcherEnv, 'FETCH_MAX_POLITE_WAIT_MS'>>;
  pool: Pool;
  queues: Queues;
  redis: Redis;
  logger: Logger;
  /** The registry: its hosts are the only ones the guard lets through. */
  sources: readonly Source[];
  /** `off`: no per-host delay and no limit per source (offline runs against our own publisher); default `registry`. */
  politeness?: 'registry' | 'off';
}

/** Everything the fetch job needs, built once per process. */
export function createFetchDeps(options: CreateFetchDepsOptions): FetchDeps {
  const { env } = options;
  const urlMap = { offline: env.NST_OFFLINE, publisherUrl: env.NST_PUBLISHER_URL };
  return {
    pool: options.pool,
    queues: options.queues,
    logger: options.logger,
    urlMap,
    guard: createGuard({
      allowedHosts: options.sources.map((s) => new URL(s.url).host),
      publisherOrigin: env.NST_OFFLINE ? new URL(env.NST_PUBLISHER_URL).origin : undefined,
    }),
    robots: createRobotsCache(env.FETCH_USER_AGENT, env.ROBOTS_CACHE_SECONDS),
    politenessGate: createPolitenessGate(options.redis, env.NST_QUEUE_PREFIX),
    maxPoliteWaitMs: env.FETCH_MAX_POLITE_WAIT_MS ?? DEFAULT_MAX_POLITE_WAIT_MS,
    userAgent: env.FETCH_USER_AGENT,
    connectTimeoutMs: env.FETCH_CONNECT_TIMEOUT_MS,
    maxRedirects: env.FETCH_MAX_REDIRECTS,
    fetchJobOptions: fetchJobOptions(env.FETCH_ATTEMPTS, env.FETCH_BACKOFF_MS),
    politeness: options.politeness ?? 'registry',
  };
}
