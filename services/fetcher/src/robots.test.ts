import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crawlDelayMs, createRobotsCache, MAX_CRAWL_DELAY_MS } from './robots';
import { createGuard } from './ssrf';

describe('crawlDelayMs', () => {
  it("reads robots.txt's Crawl-delay seconds as milliseconds", () => {
    expect(crawlDelayMs(0.5)).toBe(500);
    expect(crawlDelayMs(10)).toBe(10_000);
  });

  it('takes a delay above the longest honoured as that, and none for a delay under a millisecond', () => {
    expect(crawlDelayMs(86_400)).toBe(MAX_CRAWL_DELAY_MS);
    // A value this large would make an invalid date of the job's return.
    expect(crawlDelayMs(1e13)).toBe(MAX_CRAWL_DELAY_MS);
    expect(crawlDelayMs(0.0001)).toBeUndefined();
    expect(crawlDelayMs(0)).toBeUndefined();
    expect(crawlDelayMs(Number.NaN)).toBeUndefined();
    expect(crawlDelayMs(undefined)).toBeUndefined();
  });
});

describe('createRobotsCache().load', () => {
  let server: Server;
  let base: string;
  let requests = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nCrawl-delay: 2\nDisallow: /private/\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });
  const http = () => ({
    // The test server stands where the offline publisher does: the one loopback origin allowed.
    guard: createGuard({ allowedHosts: [new URL(base).host], publisherOrigin: base }),
    urlMap: { offline: false, publisherUrl: base },
    userAgent: 'nst-test/1.0 (+robots)',
    connectTimeoutMs: 2_000,
    totalTimeoutMs: 5_000,
    maxBytes: 1024 * 1024,
    maxRedirects: 2,
  });

  it('tells the caller that made the request its rules before any other caller can see them, and not one that joined it', async () => {
    const cache = createRobotsCache('nst-test', 60);
    const seen: Array<{ crawlDelayMs?: number; cachedMeanwhile: boolean }> = [];
    const joined: unknown[] = [];
    const before = requests;
    const [first, second] = await Promise.all([
      cache.load(`${base}/a.html`, http(), async (rules) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        seen.push({ ...(rules.crawlDelayMs !== undefined ? { crawlDelayMs: rules.crawlDelayMs } : {}), cachedMeanwhile: cache.rules(`${base}/a.html`) !== undefined });
      }),
      cache.load(`${base}/b.html`, http(), async (rules) => {
        joined.push(rules);
      }),
    ]);
    expect(requests - before).toBe(1);
    expect(seen).toEqual([{ crawlDelayMs: 2_000, cachedMeanwhile: false }]);
    expect(joined).toEqual([]);
    expect(first!.allows(`${base}/private/x.html`)).toBe(false);
    expect(second).toBe(first);
    expect(cache.rules(`${base}/c.html`)).toBe(first);
  });

  it('caches the rules even when the caller that was told them fails', async () => {
    const cache = createRobotsCache('nst-test', 60);
    const rules = await cache.load(`${base}/a.html`, http(), async () => {
      throw new Error('test: the note failed');
    });
    expect(rules.crawlDelayMs).toBe(2_000);
    expect(cache.rules(`${base}/a.html`)).toBe(rules);
  });
});
