/**
 * Measure `polite`: the pipeline with politeness on, over hosts of their own. Is politeness the only
 * limit? A crawl whose hosts each allow one request every `minDelayMs` cannot end before its
 * busiest host's requests (its pages and its robots.txt) have had their turns one after another:
 * `(requests − 1) · minDelayMs` after the start. The measure runs the three services on such a site (one host with several list pages,
 * others with one, all discovered from their entry pages) and reports how close the crawl came to
 * that bound (`ofBound`; 1 would be the delays alone, and the delay counts from each response's
 * end, so what the busiest host's responses take to come back keeps it below), and what the publisher saw:
 * per host, the pages served and the requests, robots.txt's included, the shortest gap between two requests' arrivals (never below the
 * delay) and the mean one (the delay counts from the end of the request before, so it adds what a
 * request takes to come back), and the most requests in flight at once (never above the sources'
 * concurrency, 1).
 */
import { enqueueSourceTick, fetchJobOptions } from '@nst/fetcher';
import { note, pendingJobs, report, round, waitForDrain, type BenchConfig } from './harness';
import { startPipelineRun } from './pipeline';
import { generateBenchSite, type BenchSourceLayout } from './site';

/** The site: six hosts, as many as the registry's; one with four list pages (84 pages), five with one (21 pages each). */
export const POLITE_LAYOUT: readonly BenchSourceLayout[] = [4, 1, 1, 1, 1, 1].map((lists, i) => ({ host: `polite-${i + 1}.bench.nst.test`, lists }));

export async function measurePolite(config: BenchConfig, options: { minDelayMs: number; timeoutMs: number }): Promise<void> {
  const site = generateBenchSite(0, { layout: POLITE_LAYOUT, minDelayMs: options.minDelayMs });
  const run = await startPipelineRun(site.listPages, config, site);
  try {
    const { publisher, redis } = run;
    publisher.requests.length = 0;
    const tick = `bench-polite-${Date.now()}`;
    // The publisher stamps arrivals with the wall clock; the queues' polls with performance.now().
    const started = Date.now();
    const startedPerf = performance.now();
    for (const source of site.sources) await enqueueSourceTick(redis.queues, source, tick, fetchJobOptions(5, 1000), 'manual');
    let fetched: number | undefined;
    const drained = await waitForDrain(redis.queues, {
      timeoutMs: options.timeoutMs,
      label: `polite ${options.minDelayMs} ms`,
      onPoll: (counts, at) => {
        if (pendingJobs(counts.fetch) > 0) fetched = undefined;
        else fetched ??= at;
      },
    });

    // What the publisher saw of each host: its pages, and robots.txt (asked for in a turn of the
    // host's, as a page is; the generated hosts have none, and answer 404).
    const hosts = POLITE_LAYOUT.map(({ host }) => {
      const requests = publisher.requests.filter((r) => r.path.startsWith(`${host}/`));
      const arrivals = requests.map((r) => r.receivedAt).sort((x, y) => x - y);
      const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
      // Requests in flight at once, at each arrival.
      const inFlight = Math.max(0, ...requests.map((r) => requests.filter((o) => o.receivedAt <= r.receivedAt && r.receivedAt <= o.at).length));
      return {
        host,
        pages: requests.filter((r) => r.status === 200 && !r.path.endsWith('/robots.txt')).length,
        requests: requests.length,
        minGapMs: gaps.length > 0 ? Math.min(...gaps) : null,
        // The delay plus what a request takes to come back: the delay counts from the end of the one before.
        meanGapMs: gaps.length > 0 ? round(gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length, 1) : null,
        maxInFlight: inFlight,
        lastAt: arrivals.at(-1) ?? started,
      };
    });
    const pages = hosts.reduce((sum, host) => sum + host.pages, 0);
    const expected = site.listPages + site.articles;
    if (pages !== expected) note(`polite: expected ${expected} pages served, the publisher served ${pages}`);
    const boundSeconds = (Math.max(...hosts.map((host) => host.requests)) - 1) * (options.minDelayMs / 1000);
    const crawlSeconds = (Math.max(...hosts.map((host) => host.lastAt)) - started) / 1000;
    report({
      measure: 'polite',
      minDelayMs: options.minDelayMs,
      hosts: hosts.length,
      pages,
      // From the first tick to the last page's arrival at the publisher, and that bound.
      crawlSeconds: round(crawlSeconds, 2),
      boundSeconds: round(boundSeconds, 2),
      ofBound: round(boundSeconds / crawlSeconds, 2),
      pagesPerSecond: round(pages / crawlSeconds),
      // The fetch queue empty for good, and every queue (the last aggregate).
      fetchedSeconds: fetched === undefined ? null : round((fetched - startedPerf) / 1000, 2),
      drainedSeconds: round((drained - startedPerf) / 1000, 2),
      perHost: hosts.map(({ host, pages: n, requests, minGapMs, meanGapMs, maxInFlight }) => ({ host: host.split('.')[0], pages: n, requests, minGapMs, meanGapMs, maxInFlight })),
    });
  } finally {
    await run.close();
  }
}
