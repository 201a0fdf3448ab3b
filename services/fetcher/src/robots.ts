/**
 * robots.txt, honoured and cached per origin. A missing robots.txt (4xx) allows everything; an
 * unreachable one (5xx, network) disallows for now, as the robots exclusion standard (RFC 9309)
 * asks, and is not cached so the next fetch tries again. Its `Crawl-delay` for our User-Agent (or
 * `*`) is kept with its rules: the fetch job spaces the host's requests by it when it is longer
 * than the registry's delay.
 *
 * robots.txt is a request to the host like any other: the fetch job asks {@link RobotsCache.rules}
 * first and, when the answer must be fetched, takes the host's turn for it before
 * {@link RobotsCache.load}. Jobs that need the same origin's robots.txt at once share one request.
 * A crawl delay above {@link MAX_CRAWL_DELAY_MS} is taken as that.
 */
import robotsParser from 'robots-parser';
import { NonRetryableError, RetryableError } from '@nst/shared/errors';
import { httpGet, type HttpGetOptions } from './http-client';

type Robots = ReturnType<typeof robotsParser>;

export class RobotsDisallowedError extends NonRetryableError {
  constructor(url: string) {
    super('robots_disallowed', `robots.txt disallows ${url}`);
    this.name = 'RobotsDisallowedError';
  }
}

/** What an origin's robots.txt says to us. */
export interface RobotsRules {
  /** False when robots.txt disallows `url` for us. */
  allows(url: string): boolean;
  /** Its `Crawl-delay` for us, in ms; undefined when it states none (or there is no robots.txt). */
  crawlDelayMs?: number;
}

/** The longest crawl delay honoured: a `Crawl-delay` above it is taken as this. */
export const MAX_CRAWL_DELAY_MS = 60_000;

/**
 * How long rules past their cache period may still serve a job that already holds its turn of the
 * host (RFC 9309 §2.4: a cached robots.txt should not be used for more than 24 hours).
 */
export const MAX_STALE_MS = 86_400_000;

export interface RobotsCache {
  /**
   * The rules of `url`'s origin while they are cached; undefined when robots.txt must be fetched.
   * `stale`: rules past their cache period too, up to {@link MAX_STALE_MS} old.
   */
  rules(url: string, options?: { stale?: boolean }): RobotsRules | undefined;
  /**
   * Fetch `url`'s origin's robots.txt (or join the request already in flight) and cache its rules.
   * `fetched`: told the rules once the request made here (not one joined) has come back, before
   * they are cached, so that no other job sees them first; awaited, and its failure ignored.
   */
  load(url: string, http: Omit<HttpGetOptions, 'etag' | 'lastModified'>, fetched?: (rules: RobotsRules) => Promise<void>): Promise<RobotsRules>;
}

/** A `Crawl-delay` (seconds, as robots-parser reads it) in ms, at most {@link MAX_CRAWL_DELAY_MS}; undefined when none or under a millisecond. */
export function crawlDelayMs(seconds: number | undefined): number | undefined {
  if (seconds === undefined || !Number.isFinite(seconds)) return undefined;
  const ms = Math.round(seconds * 1000);
  return ms >= 1 ? Math.min(ms, MAX_CRAWL_DELAY_MS) : undefined;
}

export function createRobotsCache(userAgent: string, ttlSeconds: number): RobotsCache {
  const cache = new Map<string, { rules: RobotsRules; at: number; until: number }>();
  const inFlight = new Map<string, Promise<RobotsRules>>();
  const rulesOf = (robots: Robots | null): RobotsRules => {
    const delayMs = crawlDelayMs(robots?.getCrawlDelay(userAgent));
    return {
      allows: (url) => robots?.isAllowed(url, userAgent) !== false,
      ...(delayMs !== undefined ? { crawlDelayMs: delayMs } : {}),
    };
  };
  async function fetchRules(origin: string, http: Omit<HttpGetOptions, 'etag' | 'lastModified'>, fetched?: (rules: RobotsRules) => Promise<void>): Promise<RobotsRules> {
    const robotsUrl = `${origin}/robots.txt`;
    let robots: Robots | null;
    try {
      const response = await httpGet(robotsUrl, { ...http, maxBytes: 512 * 1024, accept: ['text/plain', 'text/html', 'application/octet-stream'] });
      robots = robotsParser(robotsUrl, response.body.toString('utf8'));
    } catch (error) {
      if (error instanceof NonRetryableError && /^http_4\d\d$/.test(error.code)) {
        robots = null; // no robots.txt: everything is allowed
      } else if (error instanceof RetryableError) {
        throw new RetryableError('robots_unreachable', `robots.txt of ${origin} unreachable: ${error.message}`, { cause: error });
      } else {
        throw error;
      }
    }
    const rules = rulesOf(robots);
    await fetched?.(rules).catch(() => undefined);
    const at = Date.now();
    cache.set(origin, { rules, at, until: at + ttlSeconds * 1000 });
    return rules;
  }
  return {
    rules(url, options) {
      const hit = cache.get(new URL(url).origin);
      const now = Date.now();
      return hit && (hit.until > now || (options?.stale === true && now - hit.at < MAX_STALE_MS)) ? hit.rules : undefined;
    },
    load(url, http, fetched) {
      const origin = new URL(url).origin;
      const pending = inFlight.get(origin);
      if (pending) return pending;
      const loading = fetchRules(origin, http, fetched).finally(() => inFlight.delete(origin));
      inFlight.set(origin, loading);
      return loading;
    },
  };
}
