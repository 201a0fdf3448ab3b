/**
 * robots.txt, honoured and cached per host. A missing robots.txt (4xx) allows everything; an
 * unreachable one (5xx, network) disallows for now, as the robots exclusion standard (RFC 9309)
 * asks, and is not cached so the next fetch tries again.
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

export interface RobotsCache {
  /** Throws {@link RobotsDisallowedError} when the host's robots.txt disallows `url` for us. */
  check(url: string, http: Omit<HttpGetOptions, 'etag' | 'lastModified'>): Promise<void>;
}

export function createRobotsCache(userAgent: string, ttlSeconds: number): RobotsCache {
  const cache = new Map<string, { robots: Robots | null; until: number }>();
  async function load(origin: string, http: Omit<HttpGetOptions, 'etag' | 'lastModified'>): Promise<Robots | null> {
    const hit = cache.get(origin);
    if (hit && hit.until > Date.now()) return hit.robots;
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
    cache.set(origin, { robots, until: Date.now() + ttlSeconds * 1000 });
    return robots;
  }
  return {
    async check(url, http) {
      const robots = await load(new URL(url).origin, http);
      if (robots && robots.isAllowed(url, userAgent) === false) throw new RobotsDisallowedError(url);
    },
  };
}
