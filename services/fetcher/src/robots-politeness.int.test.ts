/**
 * robots.txt as a request to its host, with real Redis, PostgreSQL and the offline publisher: it
 * takes a turn of the host's like any page, jobs that need it at once share one request, and its
 * `Crawl-delay` spaces the host's requests when it is longer than the registry's delay. Each test
 * has a fetcher of its own, so that it meets robots.txt uncached.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { enqueue, jobId } from '@nst/shared/jobs';
import { waitForQueuesIdle } from '@nst/shared/testing';
import type { RequestRecord } from './publisher/server';
import { startFetcherHarness, type FetcherHarness } from './testing';
import { fetchJobOptions } from './worker';

const HOST = 'www.jinshan.gov.cn';
const JINSHAN_NEWS = [
  '20220728/38bbb08c-1366-4295-a9ec-368f073d71a7',
  '20221215/bb3e9174-c5f3-46ee-aa08-5605a168bb62',
  '20230425/d3a7e939-e7c6-40ae-acf0-4a8d16dfec2d',
  '20240130/edfa0084-6cda-4bd1-aa9d-024f5cf7a6d6',
].map((path) => `https://${HOST}/jsyw/${path}.html`);

const toHost = (requests: readonly RequestRecord[]) => requests.filter((r) => r.path.startsWith(`${HOST}/`)).sort((x, y) => x.receivedAt - y.receivedAt);
const isRobots = (r: RequestRecord) => r.path === `${HOST}/robots.txt`;

describe('robots.txt and politeness', () => {
  let harness: FetcherHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  async function start(options: { robotsCacheSeconds?: number } = {}) {
    // Four worker places: the four pages' jobs all start at once and all need robots.txt.
    const started = await startFetcherHarness({ name: 'robots-politeness.int.test', attempts: 3, maxPoliteWaitMs: 200, ...options });
    harness = started;
    const politeness = (settings: Record<string, number>) =>
      started.db.pool.query("UPDATE raw.source SET politeness = politeness || $1::jsonb WHERE key = 'js-news'", [JSON.stringify(settings)]);
    const fetchAll = async () => {
      for (const url of JINSHAN_NEWS) {
        await enqueue(started.queues, 'fetch-source', { sourceKey: 'js-news', url, role: 'document', reason: 'manual' }, { ...fetchJobOptions(3, 20), jobId: jobId('test', 'js-news', url) });
      }
      await waitForQueuesIdle([started.queues.fetch], { timeoutMs: 30_000 });
      const archived = await started.db.pool.query("SELECT count(*)::int AS n FROM raw.document WHERE source_key = 'js-news'");
      expect(archived.rows[0].n).toBe(JINSHAN_NEWS.length);
    };
    return { harness: started, politeness, fetchAll };
  }

  it("fetches robots.txt once, in a turn of its host's: a delay before the first page", async () => {
    const { harness, politeness, fetchAll } = await start();
    await politeness({ minDelayMs: 400 });
    await fetchAll();

    const requests = toHost(harness.publisher.requests);
    expect(requests.filter(isRobots)).toHaveLength(1);
    expect(isRobots(requests[0]!)).toBe(true);
    expect(requests).toHaveLength(JINSHAN_NEWS.length + 1);
    // Every request to the host, robots.txt's included, a delay after the one before came back.
    for (let i = 1; i < requests.length; i += 1) expect(requests[i]!.receivedAt - requests[i - 1]!.at).toBeGreaterThanOrEqual(400 - 1);
  });

  it("spaces the host's pages by robots.txt's Crawl-delay, though the registry's delay is shorter (here none)", async () => {
    const { harness, politeness, fetchAll } = await start();
    await politeness({ minDelayMs: 0 });
    // With no delay of the registry's, robots.txt itself is asked for in no turn (its delay is not
    // known before it comes); it then counts as the host's last request: every page after it is spaced, the first too.
    harness.publisher.setFault(`${HOST}/robots.txt`, { kind: 'body', body: 'User-agent: *\nCrawl-delay: 0.5\n', contentType: 'text/plain' });
    await fetchAll();

    const requests = toHost(harness.publisher.requests);
    expect(requests.filter(isRobots)).toHaveLength(1);
    expect(isRobots(requests[0]!)).toBe(true);
    expect(requests).toHaveLength(JINSHAN_NEWS.length + 1);
    for (let i = 1; i < requests.length; i += 1) expect(requests[i]!.receivedAt - requests[i - 1]!.at).toBeGreaterThanOrEqual(500 - 1);
  });

  it('asks for robots.txt once when several jobs need it at once', async () => {
    const { harness, politeness, fetchAll } = await start();
    await politeness({ minDelayMs: 0 });
    // robots.txt takes 300 ms to come: the four jobs all start while it is on its way.
    harness.publisher.setFault(`${HOST}/robots.txt`, { kind: 'slow', delayMs: 300 });
    await fetchAll();

    const requests = toHost(harness.publisher.requests);
    expect(requests.filter(isRobots)).toHaveLength(1);
    expect(requests).toHaveLength(JINSHAN_NEWS.length + 1);
  });

  it('spends at most one turn of an attempt on robots.txt, however short its cache period', async () => {
    // Cached for no time at all: every job's robots.txt is past its period when it comes back at
    // the turn it waited for in the queue. Spending each such turn on robots.txt would send the
    // page to the back, to come back past the period again, for ever.
    const { harness, politeness, fetchAll } = await start({ robotsCacheSeconds: 0 });
    await politeness({ minDelayMs: 400 });
    await fetchAll();

    const requests = toHost(harness.publisher.requests);
    for (let i = 1; i < requests.length; i += 1) expect(requests[i]!.receivedAt - requests[i - 1]!.at).toBeGreaterThanOrEqual(400 - 1);
    // Each job asked for robots.txt once at most, and went back to the queue twice at most.
    expect(requests.filter(isRobots).length).toBeLessThanOrEqual(JINSHAN_NEWS.length);
    const runs = await Promise.all(JINSHAN_NEWS.map(async (url) => (await harness.queues.fetch.getJob(jobId('test', 'js-news', url)))?.attemptsStarted ?? 0));
    expect(Math.max(...runs)).toBeLessThanOrEqual(3);
  });

  it("asks for robots.txt again during a backlog once its rules' cache period has passed", async () => {
    // Four pages 500 ms apart, their jobs all queued at once and all back at turns they kept: the
    // rules, cached for a second, pass their period midway, and the first job back after it asks again.
    const { harness, politeness, fetchAll } = await start({ robotsCacheSeconds: 1 });
    await politeness({ minDelayMs: 500 });
    await fetchAll();

    const requests = toHost(harness.publisher.requests);
    for (let i = 1; i < requests.length; i += 1) expect(requests[i]!.receivedAt - requests[i - 1]!.at).toBeGreaterThanOrEqual(500 - 1);
    const robots = requests.filter(isRobots);
    expect(robots.length).toBeGreaterThanOrEqual(2);
    expect(robots.length).toBeLessThanOrEqual(JINSHAN_NEWS.length);
  });

  it('takes the delay of the registry when it is the longer one', async () => {
    const { harness, politeness, fetchAll } = await start();
    await politeness({ minDelayMs: 600 });
    harness.publisher.setFault(`${HOST}/robots.txt`, { kind: 'body', body: 'User-agent: *\nCrawl-delay: 0.1\n', contentType: 'text/plain' });
    await fetchAll();

    const requests = toHost(harness.publisher.requests);
    expect(requests).toHaveLength(JINSHAN_NEWS.length + 1);
    for (let i = 1; i < requests.length; i += 1) expect(requests[i]!.receivedAt - requests[i - 1]!.at).toBeGreaterThanOrEqual(600 - 1);
  });
});
