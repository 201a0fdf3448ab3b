/**
 * The fetcher's politeness with real Redis, PostgreSQL and the offline publisher: the registry's
 * delay between two requests to a host and its limit of requests in flight per source, and a host
 * with a backlog not holding the worker's places while its turns are far away.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { enqueue, jobId } from '@nst/shared/jobs';
import { createRedis } from '@nst/shared/redis';
import { waitForQueuesIdle } from '@nst/shared/testing';
import type { RequestRecord } from './publisher/server';
import { startFetcherHarness, type FetcherHarness } from './testing';
import { fetchJobOptions } from './worker';

const JINSHAN_NEWS = [
  '20220728/38bbb08c-1366-4295-a9ec-368f073d71a7',
  '20221215/bb3e9174-c5f3-46ee-aa08-5605a168bb62',
  '20230425/d3a7e939-e7c6-40ae-acf0-4a8d16dfec2d',
  '20240130/edfa0084-6cda-4bd1-aa9d-024f5cf7a6d6',
  '20240816/af0a5276-0efc-4816-a98f-dad96233552b',
  '20250211/6661cdef-f493-4c6b-a3b4-dfe6c96e3d80',
  '20251105/7543526e-e9ad-4032-a575-88d923f69d68',
  '20261118/eb726a95-93fd-42d7-afc3-f466d9502904',
].map((path) => `https://www.jinshan.gov.cn/jsyw/${path}.html`);
const BAOSHAN_NEWS = ['20260228/739431', '20230725/177359'].map((path) => `https://www.shbsq.gov.cn/shbs/bsyw/${path}.html`);

/** The publisher serves `/<host>/<path>`; the pages only (robots.txt has its own tests: robots-politeness.int.test.ts). */
const pages = (requests: readonly RequestRecord[], host: string) => requests.filter((r) => r.path.startsWith(`${host}/`) && !r.path.endsWith('/robots.txt'));

describe('fetcher politeness', () => {
  let harness: FetcherHarness;
  const jobOptions = fetchJobOptions(3, 20);

  let redis: Redis;
  beforeAll(async () => {
    // Four worker places, as few as a backlog needs to fill them; turns further than 200 ms are waited for in the queue.
    harness = await startFetcherHarness({ name: 'politeness.int.test', attempts: 3, maxPoliteWaitMs: 200 });
    redis = createRedis(harness.redis.url, { role: 'worker', name: harness.redis.prefix });
  });
  afterAll(async () => {
    redis.disconnect();
    await harness.close();
  });
  beforeEach(async () => {
    harness.publisher.clearFaults();
    harness.publisher.requests.length = 0;
    await harness.db.pool.query('TRUNCATE raw.document, raw.fetch_log CASCADE');
    // Each test meets the hosts as new: no turns, delays or response times of the one before.
    const keys = await redis.keys(`${harness.redis.prefix}:politeness:*`);
    if (keys.length > 0) await redis.del(...keys);
  });

  // Job ids of their own in each test (BullMQ keeps completed jobs, and skips an id it holds).
  let run = 0;
  beforeEach(() => {
    run += 1;
  });
  const testJobId = (sourceKey: string, url: string) => jobId('test', String(run), sourceKey, url);
  const fetchDocument = (sourceKey: string, url: string) =>
    enqueue(harness.queues, 'fetch-source', { sourceKey, url, role: 'document', reason: 'manual' }, { ...jobOptions, jobId: testJobId(sourceKey, url) });
  const politeness = (sourceKey: string, settings: Record<string, number>) =>
    harness.db.pool.query('UPDATE raw.source SET politeness = politeness || $2::jsonb WHERE key = $1', [sourceKey, JSON.stringify(settings)]);

  it("spaces a host's requests by its delay, and a backlog of one host does not hold the worker's places from another", async () => {
    await politeness('js-news', { minDelayMs: 500 });
    await politeness('bs-news', { minDelayMs: 500 });
    // Eight pages of one host queued before one page of another: more than the worker has places.
    const before = (await harness.metrics.jobsDeferred.get()).values.reduce((sum, v) => sum + v.value, 0);
    for (const url of JINSHAN_NEWS) await fetchDocument('js-news', url);
    await fetchDocument('bs-news', BAOSHAN_NEWS[0]!);
    await waitForQueuesIdle([harness.queues.fetch], { timeoutMs: 30_000 });

    const archived = await harness.db.pool.query("SELECT source_key, count(*)::int AS n FROM raw.document GROUP BY source_key ORDER BY source_key");
    expect(archived.rows).toEqual([{ source_key: 'bs-news', n: 1 }, { source_key: 'js-news', n: JINSHAN_NEWS.length }]);
    expect((await harness.db.pool.query("SELECT count(*)::int AS n FROM raw.fetch_log WHERE outcome <> 'archived'")).rows[0].n).toBe(0);

    const jinshan = pages(harness.publisher.requests, 'www.jinshan.gov.cn');
    const baoshan = pages(harness.publisher.requests, 'www.shbsq.gov.cn');
    expect(jinshan).toHaveLength(JINSHAN_NEWS.length);
    expect(baoshan).toHaveLength(1);
    // Arrivals at the publisher: never closer than the delay, since a request starts only a delay
    // after the one before came back (a millisecond allowed: Redis's clock and this one round apart).
    const arrivals = jinshan.map((r) => r.receivedAt).sort((x, y) => x - y);
    for (let i = 1; i < arrivals.length; i += 1) expect(arrivals[i]! - arrivals[i - 1]!).toBeGreaterThanOrEqual(500 - 1);
    // The other host's page did not wait behind the backlog: it came before the backlog's second
    // page. With every place asleep on its turn, it would come after the fourth or fifth.
    expect(baoshan[0]!.receivedAt).toBeLessThan(arrivals[1]!);
    // The backlog's pages waited for their turns in the queue, not in a worker's place.
    const deferred = await Promise.all(JINSHAN_NEWS.map(async (url) => (await harness.queues.fetch.getJob(testJobId('js-news', url)))?.attemptsStarted ?? 0));
    expect(Math.max(...deferred)).toBeGreaterThan(1);
    // An attempt was spent by none of them, and /metrics counts their waits.
    const attempts = await harness.db.pool.query('SELECT max(attempt)::int AS n FROM raw.fetch_log');
    expect(attempts.rows[0].n).toBe(1);
    // The other host's job waited too: its robots.txt took a turn, and its page the next.
    const other = (await harness.queues.fetch.getJob(testJobId('bs-news', BAOSHAN_NEWS[0]!)))?.attemptsStarted ?? 0;
    expect(other).toBeGreaterThan(1);
    const exposed = await harness.metrics.registry.metrics();
    const counted = /nst_jobs_deferred_total\{queue="fetch",job="fetch-source",reason="politeness",service="fetcher"\} (\d+)/.exec(exposed);
    expect(Number(counted?.[1])).toBe([...deferred, other].reduce((sum, runs) => sum + runs - 1, 0) + before);
  });

  it("does not let a slow host's backlog hold the places either, and counts its delay from each response's end", async () => {
    await politeness('js-news', { minDelayMs: 300 });
    await politeness('bs-news', { minDelayMs: 300 });
    // Each of the busy host's pages takes 300 ms to arrive: its requests come a delay and a
    // response apart, later and later behind the turns given out before the first came back.
    for (const url of JINSHAN_NEWS) harness.publisher.setFault(new URL(url).host + new URL(url).pathname, { kind: 'slow', delayMs: 300 });
    for (const url of JINSHAN_NEWS) await fetchDocument('js-news', url);
    for (const url of BAOSHAN_NEWS) await fetchDocument('bs-news', url);
    await waitForQueuesIdle([harness.queues.fetch], { timeoutMs: 30_000 });

    const jinshan = pages(harness.publisher.requests, 'www.jinshan.gov.cn').sort((x, y) => x.receivedAt - y.receivedAt);
    const baoshan = pages(harness.publisher.requests, 'www.shbsq.gov.cn').sort((x, y) => x.receivedAt - y.receivedAt);
    expect(jinshan).toHaveLength(JINSHAN_NEWS.length);
    expect(baoshan).toHaveLength(2);
    // A delay from each response's end to the next request.
    for (let i = 1; i < jinshan.length; i += 1) expect(jinshan[i]!.receivedAt - jinshan[i - 1]!.at).toBeGreaterThanOrEqual(300 - 1);
    // The other host's two pages came before the busy host's third.
    expect(baoshan[1]!.receivedAt).toBeLessThan(jinshan[2]!.receivedAt);
    // The busy host's jobs went back to the queue a few times each, not once for every request
    // before theirs (as a herd of late turns, all back whenever the host is ready, would).
    const runs = await Promise.all(JINSHAN_NEWS.map(async (url) => (await harness.queues.fetch.getJob(testJobId('js-news', url)))?.attemptsStarted ?? 0));
    // Here 20 runs for the eight jobs; 43 when a job back at a spent turn waited for the host
    // to be ready instead of taking a new turn.
    expect(runs.reduce((sum, n) => sum + n, 0)).toBeLessThanOrEqual(3.5 * JINSHAN_NEWS.length);
  });

  it("keeps a source's requests in flight within its concurrency, even when its server is slower than its delay", async () => {
    await politeness('js-news', { minDelayMs: 50, concurrency: 1 });
    // Each page takes 400 ms to arrive: eight times the delay between two requests.
    for (const url of JINSHAN_NEWS.slice(0, 4)) harness.publisher.setFault(new URL(url).host + new URL(url).pathname, { kind: 'slow', delayMs: 400 });
    for (const url of JINSHAN_NEWS.slice(0, 4)) await fetchDocument('js-news', url);
    await waitForQueuesIdle([harness.queues.fetch], { timeoutMs: 30_000 });

    expect((await harness.db.pool.query("SELECT count(*)::int AS n FROM raw.document WHERE source_key = 'js-news'")).rows[0].n).toBe(4);
    const served = pages(harness.publisher.requests, 'www.jinshan.gov.cn').sort((x, y) => x.receivedAt - y.receivedAt);
    expect(served).toHaveLength(4);
    // One at a time: each request arrives after the one before was answered.
    for (let i = 1; i < served.length; i += 1) expect(served[i]!.receivedAt).toBeGreaterThanOrEqual(served[i - 1]!.at);
  });

  it('lets a source with a higher concurrency have that many requests in flight', async () => {
    await politeness('js-news', { minDelayMs: 50, concurrency: 2 });
    for (const url of JINSHAN_NEWS.slice(0, 4)) harness.publisher.setFault(new URL(url).host + new URL(url).pathname, { kind: 'slow', delayMs: 400 });
    for (const url of JINSHAN_NEWS.slice(0, 4)) await fetchDocument('js-news', url);
    await waitForQueuesIdle([harness.queues.fetch], { timeoutMs: 30_000 });

    const served = pages(harness.publisher.requests, 'www.jinshan.gov.cn');
    expect(served).toHaveLength(4);
    const inFlight = (at: number) => served.filter((r) => r.receivedAt <= at && at < r.at).length;
    const most = Math.max(...served.map((r) => inFlight(r.receivedAt)));
    expect(most).toBe(2);
  });
});
