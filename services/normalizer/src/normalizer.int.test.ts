/**
 * The normalize stage against real PostgreSQL and Redis: vintages, idempotency, rejects, and bad
 * input that must not take the worker down.
 */
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Worker as BullWorker, type Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeBody } from '@nst/shared/charset';
import { closeQueues, createQueues, enqueue, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, waitForQueuesIdle, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { normalizeDocument, type NormalizeDeps } from './jobs/normalize-document';
import { createNormalizeWorker, loadCatalog } from './worker';

const CASES = fileURLToPath(new URL('../../../seeds/fixtures/cases/', import.meta.url));
const logger = createLogger({ service: 'normalizer-test', level: 'silent' });

describe('normalizer', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let connection: Redis;
  let queues: Queues;
  let deps: NormalizeDeps;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    queues = createQueues({ connection, prefix: redis.prefix });
    deps = { pool: db.pool, queues, logger, catalog: await loadCatalog(db.pool) };
  });
  afterAll(async () => {
    await closeQueues(queues);
    connection.disconnect();
    await redis.cleanup();
    await db.drop();
  });

  let seq = 0;
  /** Archive bytes as the fetcher would (same columns), returning the document id. */
  async function archive(body: Buffer, options: { sourceKey: string; format: string; url?: string; contentType?: string; fetchedAt?: string }): Promise<number> {
    seq += 1;
    const isHtml = !body.subarray(0, 2).equals(Buffer.from('PK')) && !body.subarray(0, 4).equals(Buffer.from('%PDF'));
    const text = isHtml && body.length > 0 ? decodeBody(body, options.contentType).text.replaceAll('\u0000', '') : null;
    const { rows } = await db.pool.query(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, content_type, body_gzip, body_size, text, sha256_bytes,
                                 sha256_canonical, role, format, fetched_at)
       VALUES ($1, $2, $2, 200, $3, $4, $5, $6, $7, $7, 'document', $8, $9) RETURNING id`,
      [options.sourceKey, options.url ?? `https://example.gov.cn/doc/${seq}.html`, options.contentType ?? 'text/html; charset=utf-8',
        gzipSync(body), body.length, text, seq.toString(16).padStart(64, '0'), options.format, options.fetchedAt ?? '2026-11-01T00:00:00Z'],
    );
    return rows[0].id;
  }

  const observation = (documentId: number, indicator: string, period: string) =>
    db.pool.query('SELECT * FROM core.observation_vintage WHERE document_id = $1 AND indicator = $2 AND period = $3 AND measure = $4', [documentId, indicator, period, 'level']).then((r) => r.rows);

  async function tableFingerprint(): Promise<string> {
    const { rows } = await db.pool.query(`
      SELECT md5(coalesce(string_agg(row_text, '|' ORDER BY row_text), '')) AS fp, count(*)::int AS n FROM (
        SELECT format('%s %s %s %s %s %s %s %s %s', district, indicator, measure, accumulation, period, value, valid_from, valid_to, document_id) AS row_text
        FROM core.observation_vintage
        UNION ALL SELECT format('reject %s %s %s', document_id, reason, locator) FROM core.reject
        UNION ALL SELECT format('news %s %s', url, title) FROM core.news_item
        UNION ALL SELECT format('mention %s %s %s', document_id, locator, value) FROM core.target_mention) t`);
    return `${rows[0].n}:${rows[0].fp}`;
  }

  describe('a bulletin and its revision', () => {
    let original: number;
    let revised: number;
    const revisedDate = '2025-09-30 10:00';

    beforeAll(async () => {
      const page = await readFile(`${CASES}bulletin-baoshan-2024.html`);
      original = await archive(page, { sourceKey: 'bs-bulletin', format: 'bulletin' });
      // The same bulletin republished later with one figure revised (as after an economic census).
      const revisedPage = Buffer.from(page.toString('utf8').replace('1,802.35', '1,811.20').replace('2025-03-28 15:00', revisedDate));
      revised = await archive(revisedPage, { sourceKey: 'bs-bulletin', format: 'bulletin', url: 'https://xxgk.shbsq.gov.cn/revised.html' });
    });

    it('stores every figure with its provenance', async () => {
      const result = await normalizeDocument(original, deps);
      expect(result.counts?.inserted).toBeGreaterThan(5);
      const [gdp] = await observation(original, 'gdp', '2024');
      expect(gdp).toMatchObject({
        district: 'baoshan',
        accumulation: 'period',
        value: '1802.35',
        raw_value: '1,802.35亿元',
        unit: 'CNY',
        unit_mult: 8,
        status: 'provisional',
        valid_to: null,
        url: 'https://example.gov.cn/doc/1.html',
        parser_version: expect.any(String),
      });
      expect(gdp.valid_from.toISOString()).toBe('2025-03-28T07:00:00.000Z'); // 15:00 Shanghai time
      expect(gdp.locator).toContain('地区生产总值1,802.35亿元');
      expect(result.aggregateJobs).toBeGreaterThan(0);
    });

    it('normalizing the same document twice changes nothing', async () => {
      const before = await tableFingerprint();
      // The reading's digest equals the stored one: nothing is written, no aggregate is due.
      const again = await normalizeDocument(original, deps, { firstRun: true });
      expect(again).toMatchObject({ skipped: 'unchanged', aggregateJobs: 0 });
      expect(await tableFingerprint()).toBe(before);
      // Stored in full, it changes nothing either, and hands nothing over.
      const full = await normalizeDocument(original, deps, { firstRun: true, full: true });
      expect(full.counts).toMatchObject({ inserted: 0, revised: 0, removed: 0 });
      expect(full.aggregateJobs).toBe(0);
      expect(await tableFingerprint()).toBe(before);
      // A run that cannot tell whether an earlier one died after storing and before handing its
      // keys over hands them all over.
      expect((await normalizeDocument(original, deps)).aggregateJobs).toBeGreaterThan(0);
      expect((await normalizeDocument(original, deps, { full: true })).aggregateJobs).toBeGreaterThan(0);
      expect(await tableFingerprint()).toBe(before);
    });

    it('a full store repairs rows the digest cannot see were changed by hand', async () => {
      const before = await tableFingerprint();
      await db.pool.query(`DELETE FROM core.observation WHERE document_id = $1 AND indicator = 'gdp' AND period = '2024' AND measure = 'level'`, [original]);
      expect(await normalizeDocument(original, deps, { firstRun: true })).toMatchObject({ skipped: 'unchanged' });
      expect(await tableFingerprint()).not.toBe(before);
      const repaired = await normalizeDocument(original, deps, { firstRun: true, full: true });
      expect(repaired.counts?.inserted).toBe(1);
      expect(repaired.aggregateJobs).toBe(1);
      expect(await tableFingerprint()).toBe(before);
    });

    it('a revised figure makes exactly one new vintage, and the as-of query before it returns the old value', async () => {
      const countBefore = Number((await db.pool.query('SELECT count(*) FROM core.observation')).rows[0].count);
      const result = await normalizeDocument(revised, deps, { firstRun: true });
      expect(result.counts).toMatchObject({ inserted: 0, revised: 1 });
      // Only the revised figure's (district, indicator) is handed to the aggregator.
      expect(result.aggregateJobs).toBe(1);
      expect(Number((await db.pool.query('SELECT count(*) FROM core.observation')).rows[0].count)).toBe(countBefore + 1);

      const history = await db.pool.query(
        `SELECT value::text, valid_from, valid_to, document_id FROM core.observation_vintage
         WHERE district = 'baoshan' AND indicator = 'gdp' AND measure = 'level' AND period = '2024' ORDER BY valid_from`,
      );
      expect(history.rows.map((r) => [r.value, r.document_id])).toEqual([['1802.35', original], ['1811.20', revised]]);
      expect(history.rows[0].valid_to).toEqual(history.rows[1].valid_from);
      expect(history.rows[1].valid_to).toBeNull();

      const asOf = (ts: string) =>
        db.pool.query(`SELECT value::text FROM core.observation_as_of($1) WHERE district = 'baoshan' AND indicator = 'gdp' AND measure = 'level' AND period = '2024'`, [ts]).then((r) => r.rows.map((x) => x.value));
      expect(await asOf('2025-06-01T00:00:00Z')).toEqual(['1802.35']);
      expect(await asOf('2025-10-01T00:00:00Z')).toEqual(['1811.20']);
      expect(await asOf('2025-01-01T00:00:00Z')).toEqual([]);
      const current = await db.pool.query(`SELECT value::text FROM core.observation_current WHERE district = 'baoshan' AND indicator = 'gdp' AND measure = 'level' AND period = '2024'`);
      expect(current.rows).toEqual([{ value: '1811.20' }]);
    });

    it('hands each changed (district, indicator) over as one aggregate job that waits the configured delay, joined by later changes of the key', async () => {
      // Queues of its own: the jobs of the tests above are still waiting under the shared prefix.
      const own = createQueues({ connection, prefix: `${redis.prefix}:delay` });
      try {
        const delayed = { ...deps, queues: own, aggregateDelayMs: 7_000, aggregateFlushIdleMs: null };
        // Not a first run: every (district, indicator) of the catalog is handed over.
        const first = await normalizeDocument(original, delayed);
        const jobs = await own.aggregate.getDelayed();
        expect(jobs).toHaveLength(first.aggregateJobs);
        expect(new Set(jobs.map((job) => job.opts.delay))).toEqual(new Set([7_000]));
        // Within the delay, the same keys again join the jobs that wait, without a job added to
        // BullMQ (its counter of job ids, which every add takes one of, stands still).
        const ids = await connection.get(own.aggregate.keys.id!);
        expect((await normalizeDocument(original, delayed)).aggregateJobs).toBe(first.aggregateJobs);
        expect(await own.aggregate.getDelayedCount()).toBe(first.aggregateJobs);
        expect(await connection.get(own.aggregate.keys.id!)).toBe(ids);
      } finally {
        await own.aggregate.obliterate({ force: true });
        await closeQueues(own);
      }
    });

    /**
     * Queues of their own (the jobs of the tests above still wait under the shared prefix) and a
     * worker of their aggregate queue running `process`; `use` runs with them, then the worker is
     * closed after `release()` (a job it holds must end first) and the queues are removed.
     */
    async function withAggregateWorker(
      name: string,
      process: (job: { data: { scope: string; indicator: string } }) => Promise<void>,
      options: { concurrency?: number; release?: () => void },
      use: (own: Queues) => Promise<void>,
    ): Promise<void> {
      const own = createQueues({ connection, prefix: `${redis.prefix}:${name}` });
      const workerConnection = connection.duplicate();
      const worker = new BullWorker(own.aggregate.name, process, { connection: workerConnection, prefix: own.aggregate.opts.prefix, concurrency: options.concurrency ?? 1 });
      try {
        await use(own);
      } finally {
        options.release?.();
        await worker.close();
        workerConnection.disconnect();
        await own.aggregate.obliterate({ force: true });
        await closeQueues(own);
      }
    }
    /** A promise that holds a job until `release()`. */
    const hold = () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      return { held, release };
    };

    it('stretches the delay of a key that keeps changing, doubling it from job to job up to the maximum, and starts over after a quiet spell', async () => {
      let ran = 0;
      await withAggregateWorker('stretch', async () => {
        ran += 1;
      }, {}, async (own) => {
        // One deps object throughout: the delays are this process's memory of the jobs it added.
        const stretching = { ...deps, queues: own, aggregateDelayMs: 500, aggregateMaxDelayMs: 1_500, aggregateFlushIdleMs: null };
        /** Normalize (every key is handed over: not a first run), read the delays of the jobs added, and let them run. */
        const round = async () => {
          const before = ran;
          const { aggregateJobs } = await normalizeDocument(original, stretching);
          const delays = new Set((await own.aggregate.getDelayed()).map((job) => job.opts.delay));
          await vi.waitFor(() => expect(ran - before).toBe(aggregateJobs), { timeout: 10_000, interval: 20 });
          return delays;
        };
        expect(await round()).toEqual(new Set([500]));
        // Each change comes as soon as the jobs before it ran: a burst.
        expect(await round()).toEqual(new Set([1_000]));
        expect(await round()).toEqual(new Set([1_500]));
        expect(await round()).toEqual(new Set([1_500]));
        // Quiet for longer than the base delay after the last jobs ran: the base again.
        await new Promise((resolve) => setTimeout(resolve, 700));
        expect(await round()).toEqual(new Set([500]));
      });
    });

    it('doubles the delay once for the successor of a running job, however many changes it folds in', async () => {
      const { held, release } = hold();
      let running = 0;
      // Every job is held once it runs: changes meanwhile become successors (deduplication's keepLastIfActive).
      await withAggregateWorker('stretch-running', async () => {
        running += 1;
        await held;
      }, { concurrency: 100, release }, async (own) => {
        const stretching = { ...deps, queues: own, aggregateDelayMs: 1_000, aggregateMaxDelayMs: 8_000, aggregateFlushIdleMs: null };
        const { aggregateJobs } = await normalizeDocument(original, stretching);
        await vi.waitFor(() => expect(running).toBe(aggregateJobs), { timeout: 10_000, interval: 20 });
        // Within the base delay of their run, twice: one successor a key, each folding both changes in.
        await normalizeDocument(original, stretching);
        await normalizeDocument(original, stretching);
        release();
        await vi.waitFor(async () => expect(await own.aggregate.getDelayedCount()).toBe(aggregateJobs), { timeout: 10_000, interval: 20 });
        expect(new Set((await own.aggregate.getDelayed()).map((job) => job.opts.delay))).toEqual(new Set([2_000]));
      });
    });

    it('hands a change of a key whose aggregate job is running over as that job\'s successor, which runs after it', async () => {
      const { held, release } = hold();
      const runs: string[] = [];
      await withAggregateWorker('running', async (job) => {
        runs.push(`${job.data.scope}|${job.data.indicator}`);
        if (runs.length === 1) await held;
      }, { release }, async (own) => {
        await own.aggregate.add('aggregate-indicator', { scope: 'baoshan', indicator: 'gdp' }, { deduplication: { id: 'agg_baoshan_gdp', keepLastIfActive: true } });
        await vi.waitFor(() => expect(runs).toEqual(['baoshan|gdp']), { timeout: 10_000, interval: 20 });
        // Not a first run: every key is handed over, (baoshan, gdp) among them, while its job runs.
        const result = await normalizeDocument(original, { ...deps, queues: own, aggregateDelayMs: 0, aggregateFlushIdleMs: null });
        expect(result.aggregateJobs).toBeGreaterThan(1);
        release();
        await vi.waitFor(() => expect(runs.filter((run) => run === 'baoshan|gdp')).toHaveLength(2), { timeout: 10_000, interval: 20 });
        await vi.waitFor(() => expect(runs).toHaveLength(result.aggregateJobs + 1), { timeout: 10_000, interval: 20 });
      });
    });

    describe('the aggregate flush', () => {
      let own: Queues;
      let n = 0;
      beforeEach(() => {
        own = createQueues({ connection, prefix: `${redis.prefix}:flush${(n += 1)}` });
      });
      afterEach(async () => {
        for (const queue of Object.values(own)) await queue.obliterate({ force: true });
        await closeQueues(own);
      });
      const flushing = () => ({ ...deps, queues: own, aggregateDelayMs: 60_000, aggregateFlushIdleMs: 1_000 });
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

      it('once no normalize job has run for the idle time and nothing is left upstream, the aggregate jobs that wait run at once; while jobs keep running they wait', async () => {
        const first = await normalizeDocument(original, flushing());
        expect(first.aggregateJobs).toBeGreaterThan(0);
        // Jobs one after the other, each starting well before the idle time is out: nothing is promoted.
        for (let i = 0; i < 3; i += 1) {
          await sleep(100);
          await normalizeDocument(original, flushing());
        }
        expect(await own.aggregate.getDelayedCount()).toBe(first.aggregateJobs);
        // Then idle: every job that waited is waiting to run, long before its 60 s delay.
        await vi.waitFor(async () => expect(await own.aggregate.getWaitingCount()).toBe(first.aggregateJobs), { timeout: 10_000, interval: 100 });
        expect(await own.aggregate.getDelayedCount()).toBe(0);
      });

      it('leaves the jobs to their delay while a fetch or normalize job is still waiting (documents are still coming)', async () => {
        await enqueue(own, 'fetch-source', { sourceKey: 'bs-bulletin' });
        const first = await normalizeDocument(original, flushing());
        await sleep(2_000);
        expect(await own.aggregate.getDelayedCount()).toBe(first.aggregateJobs);
        expect(await own.aggregate.getWaitingCount()).toBe(0);
      });

      it('keeps the keys it found documents still coming for, and runs their jobs once the last document is done, though that one changed none of them', async () => {
        const paced = { ...deps, queues: own, aggregateDelayMs: 60_000, aggregateFlushIdleMs: 200 };
        // A crawl's next page on its way: the idle spell after the bulletin finds it and leaves the jobs waiting.
        const next = await own.fetch.add('fetch-source', { sourceKey: 'bs-bulletin' });
        const first = await normalizeDocument(original, paced);
        expect(first.aggregateJobs).toBeGreaterThan(0);
        await sleep(600);
        expect(await own.aggregate.getDelayedCount()).toBe(first.aggregateJobs);
        // That page is the crawl's last, and a list page: its normalize job hands no key over.
        await next.remove();
        const listPage = await archive(Buffer.from('<html><body><a href="/a.html">a</a></body></html>'), { sourceKey: 'bs-bulletin', format: 'bulletin' });
        await db.pool.query("UPDATE raw.document SET role = 'list' WHERE id = $1", [listPage]);
        expect(await normalizeDocument(listPage, paced)).toMatchObject({ skipped: 'list_page', aggregateJobs: 0 });
        // The bulletin's jobs run now, not after their minute.
        await vi.waitFor(async () => expect(await own.aggregate.getWaitingCount()).toBe(first.aggregateJobs), { timeout: 10_000, interval: 100 });
        expect(await own.aggregate.getDelayedCount()).toBe(0);
      });

      it('looks again while documents are still coming, though no job ends: a crawl whose last fetch job ends after the last document', async () => {
        const paced = { ...deps, queues: own, aggregateDelayMs: 60_000, aggregateFlushIdleMs: 200 };
        const last = await own.fetch.add('fetch-source', { sourceKey: 'bs-bulletin' });
        const first = await normalizeDocument(original, paced);
        await sleep(600);
        expect(await own.aggregate.getDelayedCount()).toBe(first.aggregateJobs);
        // That fetch job ends without a document: no normalize job ends after it.
        await last.remove();
        await vi.waitFor(async () => expect(await own.aggregate.getWaitingCount()).toBe(first.aggregateJobs), { timeout: 10_000, interval: 100 });
        expect(await own.aggregate.getDelayedCount()).toBe(0);
      });

      it('looks again less and less often while documents keep coming, and never in a loop, though the idle time is 0', async () => {
        const eager = { ...deps, queues: own, aggregateDelayMs: 60_000, aggregateFlushIdleMs: 0 };
        await own.fetch.add('fetch-source', { sourceKey: 'bs-bulletin' });
        const looks = vi.spyOn(own.fetch, 'getJobCounts');
        try {
          await normalizeDocument(original, eager);
          // Looks at about 0, 100, 300, 700 and 1,500 ms: each wait twice the one before, from the default idle time.
          await sleep(2_000);
          expect(looks.mock.calls.length).toBeGreaterThanOrEqual(3);
          expect(looks.mock.calls.length).toBeLessThanOrEqual(8);
        } finally {
          looks.mockRestore();
        }
      });

      it('leaves a job that failed an attempt to its backoff, and promotes the others', async () => {
        // The (baoshan, gdp) job failed once and waits a minute before its next attempt.
        await own.aggregate.add('aggregate-indicator', { scope: 'baoshan', indicator: 'gdp' },
          { deduplication: { id: 'agg_baoshan_gdp', keepLastIfActive: true }, attempts: 3, backoff: { type: 'fixed', delay: 60_000 } });
        const workerConnection = connection.duplicate();
        const failing = new BullWorker(own.aggregate.name, async () => {
          throw new Error('test: aggregate fails');
        }, { connection: workerConnection, prefix: own.aggregate.opts.prefix });
        try {
          await vi.waitFor(async () => expect(await own.aggregate.getDelayedCount()).toBe(1), { timeout: 10_000, interval: 50 });
        } finally {
          await failing.close();
          workerConnection.disconnect();
        }
        const [backoff] = await own.aggregate.getDelayed();
        expect(backoff!.attemptsStarted).toBe(1);
        // Every key handed over (not a first run), that one folded into the job in backoff.
        const first = await normalizeDocument(original, flushing());
        await vi.waitFor(async () => expect(await own.aggregate.getWaitingCount()).toBe(first.aggregateJobs - 1), { timeout: 10_000, interval: 100 });
        expect((await own.aggregate.getDelayed()).map((job) => job.id)).toEqual([backoff!.id]);
      });

      it('starts a key whose job it ran early over at the base delay, though the key changes again soon after', async () => {
        let ran = 0;
        await withAggregateWorker('flush-forget', async () => {
          ran += 1;
        }, {}, async (queues) => {
          // One deps object: the stretch is its memory of the jobs it added.
          const flushingOnce = { ...deps, queues, aggregateDelayMs: 3_000, aggregateMaxDelayMs: 24_000, aggregateFlushIdleMs: 200 };
          const { aggregateJobs } = await normalizeDocument(original, flushingOnce);
          // Nothing upstream: the jobs run at once, not at their 3 s delay.
          await vi.waitFor(() => expect(ran).toBe(aggregateJobs), { timeout: 10_000, interval: 20 });
          const addedAt = Math.max(...(await queues.aggregate.getJobs(['completed'])).map((job) => job.timestamp));
          expect(Date.now() - addedAt).toBeLessThan(3_000);
          // Changed again after those jobs were due, within the base delay: a burst, had they run then.
          await sleep(Math.max(0, addedAt + 3_300 - Date.now()));
          await normalizeDocument(original, flushingOnce);
          expect(new Set((await queues.aggregate.getDelayed()).map((job) => job.opts.delay))).toEqual(new Set([3_000]));
        });
      });
    });

    it('replaying both documents, in any order, changes nothing', async () => {
      const before = await tableFingerprint();
      await normalizeDocument(revised, deps);
      await normalizeDocument(original, deps);
      expect(await tableFingerprint()).toBe(before);
    });
  });

  it('an unknown indicator row is a reject with its locator, and never blocks the good rows', async () => {
    const page = await readFile(`${CASES}stats-table-two-level-headers.html`);
    const id = await archive(page, { sourceKey: 'bs-stats-monthly', format: 'stats-table' });
    await normalizeDocument(id, deps);
    const rejects = await db.pool.query('SELECT reason, locator FROM core.reject WHERE document_id = $1', [id]);
    const observations = await db.pool.query('SELECT count(*)::int AS n FROM core.observation WHERE document_id = $1', [id]);
    expect(observations.rows[0].n).toBeGreaterThan(0);
    expect(rejects.rows.some((r) => r.reason === 'unknown_indicator' && r.locator.length > 0)).toBe(true);
    // Missing cells ("—") are neither observations nor zeros.
    const zeros = await db.pool.query("SELECT count(*)::int AS n FROM core.observation WHERE document_id = $1 AND raw_value IN ('—', '…', '')", [id]);
    expect(zeros.rows[0].n).toBe(0);
  });

  describe('bad input', () => {
    let worker: Worker;
    let workerConnection: Redis;
    beforeAll(() => {
      workerConnection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
      worker = createNormalizeWorker(deps, { connection: workerConnection, prefix: redis.prefix, concurrency: 2 });
    });
    afterAll(async () => {
      await worker.close();
      workerConnection.disconnect();
    });

    it.each([
      // The rows complete before the cut are good data and kept; the cut row is a reject.
      ['truncated HTML', 'stats-table-truncated.html', 'stats-table', true],
      ['a table with no numbers', 'stats-table-no-numbers.html', 'stats-table', false],
      ['binary garbage', 'binary-garbage.bin', 'stats-table', false],
      ['an empty body', 'empty.html', 'bulletin', false],
      ['a PDF', 'bulletin-scan.pdf', 'bulletin', false],
      ['a legacy binary XLS', 'legacy-monthly.xls', 'xls', false],
    ])('%s ends as rejects or a typed non-retryable failure, and the worker keeps running', async (_name, file, format, keepsCompleteRows) => {
      const id = await archive(await readFile(`${CASES}${file}`), { sourceKey: 'bs-stats-monthly', format, contentType: file.endsWith('.html') ? 'text/html' : 'application/octet-stream' });
      const jobIdValue = await enqueue(queues, 'normalize-document', { documentId: id }, { jobId: `bad-${id}`, attempts: 3 });
      await waitForQueuesIdle([queues.normalize], { timeoutMs: 20_000 });
      const job = (await queues.normalize.getJob(jobIdValue))!;
      const state = await job.getState();
      if (state === 'failed') {
        expect(job.attemptsMade).toBe(1); // non-retryable: not retried
        expect(job.failedReason).toMatch(/^[a-z_]+: /);
      } else {
        expect(state).toBe('completed');
      }
      const rejects = await db.pool.query('SELECT reason FROM core.reject WHERE document_id = $1', [id]);
      expect(rejects.rows.length).toBeGreaterThan(0);
      const observations = await db.pool.query('SELECT count(*)::int AS n FROM core.observation WHERE document_id = $1', [id]);
      if (keepsCompleteRows) expect(observations.rows[0].n).toBeGreaterThan(0);
      else expect(observations.rows[0].n).toBe(0);
      expect(worker.isRunning()).toBe(true);
    });
  });
});
