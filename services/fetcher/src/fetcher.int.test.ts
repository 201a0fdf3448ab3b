/**
 * The fetcher against the offline publisher, real Redis and real PostgreSQL.
 */
import type { Job } from 'bullmq';
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeQueues, createQueues, enqueue, jobId, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, waitForQueuesIdle, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { FIXTURES_DIR, startPublisher, type Publisher } from './publisher/server';
import { enqueueSourceTick, startScheduler } from './scheduler';
import { loadSources } from './sql/sources';
import { startFetcherHarness, type FetcherHarness } from './testing';
import { fetchJobOptions } from './worker';

const logger = createLogger({ service: 'fetcher-test', level: 'silent' });

describe('fetcher', () => {
  let db: TestDatabase;
  let publisher: Publisher;
  let harness: FetcherHarness;
  let queues: Queues;
  const jobOptions = fetchJobOptions(3, 20);

  beforeAll(async () => {
    harness = await startFetcherHarness({ name: 'fetcher.int.test', attempts: 3 });
    ({ db, publisher, queues } = harness);
  });

  afterAll(async () => {
    await harness.close();
  });

  async function runAllSources(tick: string): Promise<void> {
    const sources = (await loadSources(db.pool)).filter((s) => s.enabled);
    for (const source of sources) await enqueueSourceTick(queues, source, tick, jobOptions);
    await waitForQueuesIdle([queues.fetch], { timeoutMs: 120_000 });
  }

  const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query(sql, params)).rows[0].n);

  describe('a full run', () => {
    it('archives every enabled source, then a second run archives nothing and enqueues no normalize job', async () => {
      await runAllSources('2026-11-26T07:00:00.000Z');
      const perSource = await db.pool.query<{ key: string; documents: number; lists: number }>(
        `SELECT s.key,
                count(d.id) FILTER (WHERE d.role = 'document')::int AS documents,
                count(d.id) FILTER (WHERE d.role = 'list')::int AS lists
         FROM raw.source s LEFT JOIN raw.document d ON d.source_key = s.key
         WHERE s.enabled GROUP BY s.key ORDER BY s.key`,
      );
      for (const row of perSource.rows) {
        expect(row.lists, `${row.key} list pages`).toBeGreaterThan(0);
        expect(row.documents, `${row.key} documents`).toBeGreaterThan(0);
      }
      const failures = await db.pool.query("SELECT url, error_code, error_message FROM raw.fetch_log WHERE outcome IN ('failed', 'refused')");
      expect(failures.rows).toEqual([]);
      const documents = await count("SELECT count(*) AS n FROM raw.document WHERE role = 'document'");
      const normalizeJobs = await queues.normalize.getJobCounts('waiting');
      expect(normalizeJobs.waiting).toBe(documents);
      const totalDocuments = await count('SELECT count(*) AS n FROM raw.document');
      // Each copy archived has exactly one `archived` attempt in the log, naming it, with the job,
      // the HTTP status and a duration (written by the statement that archived it).
      const { rows: unlogged } = await db.pool.query(
        `SELECT d.id FROM raw.document d LEFT JOIN raw.fetch_log l ON l.document_id = d.id AND l.outcome = 'archived'
         GROUP BY d.id
         HAVING count(l.id) <> 1
             OR NOT bool_and(l.http_status = 200 AND l.job_id IS NOT NULL AND l.attempt >= 1 AND l.duration_ms >= 0 AND l.source_key = d.source_key AND l.url = d.url)`);
      expect(unlogged).toEqual([]);

      // Every page was fetched with our User-Agent, and robots.txt was asked for.
      expect(publisher.requests.every((r) => r.userAgent?.startsWith('nst-test/1.0'))).toBe(true);
      expect(publisher.requests.some((r) => r.path.endsWith('/robots.txt'))).toBe(true);

      await runAllSources('2026-11-27T07:00:00.000Z');
      expect(await count('SELECT count(*) AS n FROM raw.document')).toBe(totalDocuments);
      expect((await queues.normalize.getJobCounts('waiting')).waiting).toBe(documents);
      // The list pages came back 304 (conditional GET) or unchanged; no document was fetched again.
      const second = await db.pool.query(
        "SELECT outcome, count(*)::int AS n FROM raw.fetch_log WHERE at > (SELECT max(at) FROM raw.fetch_log WHERE outcome = 'archived') GROUP BY outcome",
      );
      expect(second.rows.map((r) => r.outcome).sort()).not.toContain('archived');
    });

    it('decodes the GBK pages and the meta-only gb2312 page with zero U+FFFD', async () => {
      const manifest = parseYaml(await readFile(`${FIXTURES_DIR}/publisher.yaml`, 'utf8')) as {
        overrides: Array<{ path: string; contentType?: string }>;
      };
      const gbPaths = manifest.overrides.filter((o) => /gbk|gb2312|gb18030/i.test(o.contentType ?? '') || o.contentType === 'text/html');
      expect(gbPaths.length).toBeGreaterThanOrEqual(2);
      expect(gbPaths.some((o) => o.contentType === 'text/html')).toBe(true);
      for (const { path } of gbPaths) {
        const { rows } = await db.pool.query('SELECT text, charset FROM raw.document WHERE url = $1', [`https://${path}`]);
        expect(rows, path).toHaveLength(1);
        expect(rows[0].charset, path).toBe('gb18030');
        expect(rows[0].text, path).not.toContain('\uFFFD');
        expect(rows[0].text, path).toMatch(/[\u4e00-\u9fff]{4}/);
      }
    });
  });

  describe('faults', () => {
    let entry: { key: string; url: string; path: string };
    beforeEach(async () => {
      const [source] = (await loadSources(db.pool)).filter((s) => s.key === 'bs-bulletin');
      const url = source!.url;
      entry = { key: source!.key, url, path: url.replace(/^https:\/\//, '') };
    });
    afterEach(() => publisher.clearFaults());

    /** Fetch the entry URL once (forced, so the archived copy does not short-circuit), wait for the end. */
    async function fetchEntry(tag: string): Promise<Job> {
      const id = await enqueue(queues, 'fetch-source', { sourceKey: entry.key, url: entry.url, role: 'list', force: true, tick: tag }, { ...jobOptions, jobId: jobId('fault', tag) });
      await waitForQueuesIdle([queues.fetch], { timeoutMs: 30_000 });
      return (await queues.fetch.getJob(id))!;
    }
    const logOf = (job: Job) =>
      db.pool.query('SELECT attempt, outcome, http_status, error_code FROM raw.fetch_log WHERE job_id = $1 ORDER BY id', [job.id]).then((r) => r.rows);

    it('503 twice then OK: retried, then archived or unchanged', async () => {
      publisher.setFault(entry.path, { kind: 'status', status: 503, times: 2 });
      const job = await fetchEntry('503');
      expect(await job.getState()).toBe('completed');
      const log = await logOf(job);
      expect(log.map((r) => [r.outcome, r.http_status])).toEqual([
        ['retry', 503],
        ['retry', 503],
        [expect.stringMatching(/^(archived|unchanged)$/), 200],
      ]);
    });

    it('429 with Retry-After: waits as asked, then succeeds', async () => {
      publisher.setFault(entry.path, { kind: 'status', status: 429, times: 1, retryAfter: '1' });
      const started = Date.now();
      const job = await fetchEntry('429');
      expect(await job.getState()).toBe('completed');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect((await logOf(job)).map((r) => r.error_code)).toEqual(['http_429', null]);
    });

    it.each([
      ['404', { kind: 'status', status: 404 } as const, 'failed', 'http_404'],
      ['410', { kind: 'status', status: 410 } as const, 'failed', 'http_410'],
      ['redirect loop', { kind: 'redirect-loop' } as const, 'failed', 'redirect_loop'],
      ['oversized body', { kind: 'oversized', bytes: 12 * 1024 * 1024 } as const, 'failed', 'body_too_large'],
      ['wrong content type', { kind: 'content-type', contentType: 'image/png' } as const, 'failed', 'unexpected_content_type'],
      ['redirect to a private address', { kind: 'redirect', location: 'http://10.0.0.1/admin' } as const, 'refused', 'ssrf_private_address'],
      ['redirect to cloud metadata', { kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/' } as const, 'refused', 'ssrf_private_address'],
      ['redirect off the registry', { kind: 'redirect', location: 'https://evil.example.com/' } as const, 'refused', 'ssrf_host_not_allowed'],
    ])('%s: fails at once, non-retryably, with a typed reason', async (name, fault, outcome, code) => {
      publisher.setFault(entry.path, fault);
      const job = await fetchEntry(name.replaceAll(' ', '-'));
      expect(await job.getState()).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      expect(job.failedReason).toMatch(new RegExp(`^${code}: `));
      expect(await logOf(job)).toEqual([{ attempt: 1, outcome, http_status: /^http_/.test(code) ? Number(code.slice(5)) : null, error_code: code }]);
    });

    it('a response slower than the timeout is retried, then fails with reason timeout', async () => {
      await db.pool.query(`UPDATE raw.source SET politeness = politeness || '{"timeoutMs": 300}'::jsonb WHERE key = $1`, [entry.key]);
      try {
        publisher.setFault(entry.path, { kind: 'slow', delayMs: 1500 });
        const job = await fetchEntry('slow');
        expect(await job.getState()).toBe('failed');
        expect((await logOf(job)).map((r) => [r.outcome, r.error_code])).toEqual([
          ['retry', 'timeout'],
          ['retry', 'timeout'],
          ['failed', 'timeout'],
        ]);
      } finally {
        await db.pool.query(`UPDATE raw.source SET politeness = politeness || '{"timeoutMs": 3000}'::jsonb WHERE key = $1`, [entry.key]);
      }
    });
  });

  describe('refused URLs', () => {
    it.each([
      ['file:///etc/passwd', 'ssrf_scheme'],
      ['http://127.0.0.1:9/admin', 'ssrf_private_address'],
      ['http://10.0.0.1/', 'ssrf_private_address'],
      ['http://169.254.169.254/latest/meta-data/', 'ssrf_private_address'],
      ['http://[::1]/', 'ssrf_private_address'],
      ['https://evil.example.com/', 'ssrf_host_not_allowed'],
    ])('%s is refused (%s) and nothing is archived', async (url, code) => {
      const before = await count('SELECT count(*) AS n FROM raw.document');
      const id = await enqueue(queues, 'fetch-source', { sourceKey: 'bs-news', url, role: 'document' }, { ...jobOptions, jobId: jobId('refuse', url.replace(/[^a-z0-9]/gi, '')) });
      await waitForQueuesIdle([queues.fetch], { timeoutMs: 20_000 });
      const job = (await queues.fetch.getJob(id))!;
      expect(await job.getState()).toBe('failed');
      expect(job.attemptsMade).toBe(1);
      const { rows } = await db.pool.query('SELECT outcome, error_code, error_message FROM raw.fetch_log WHERE job_id = $1', [id]);
      expect(rows).toEqual([{ outcome: 'refused', error_code: code, error_message: expect.stringMatching(/^refused /) }]);
      expect(await count('SELECT count(*) AS n FROM raw.document')).toBe(before);
    });
  });
});

describe('two fetcher processes', () => {
  it('on the same ticks produce one job per source and tick', async () => {
    const db = await createTestDatabase();
    const redis = await createTestRedis();
    const publisher = await startPublisher();
    const { startService, freePort } = await import('../../../tests/helpers');
    // Every second: both schedulers fire many times within one minute-tick.
    await db.pool.query(`UPDATE raw.source SET schedule = '* * * * * *', politeness = politeness || '{"minDelayMs": 0}'::jsonb`);
    const env = {
      DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix, NST_OFFLINE: '1', NST_PUBLISHER_URL: publisher.url,
      SCHEDULER_ENABLED: '1', FETCH_CONCURRENCY: '1', LOG_LEVEL: 'info',
    };
    const processes = [
      startService('services/fetcher/src/main.ts', { ...env, PORT: String(await freePort()) }),
      startService('services/fetcher/src/main.ts', { ...env, PORT: String(await freePort()) }),
    ];
    const connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    const queues = createQueues({ connection, prefix: redis.prefix });
    try {
      for (const p of processes) await p.waitForLine((line) => line.msg === 'fetcher started');
      // Wait until each process has fired its scheduler at least twice for every source.
      const sources = (await loadSources(db.pool)).filter((s) => s.enabled);
      for (const p of processes) {
        await p.waitForLine(() => p.lines.filter((l) => l.msg === 'scheduled fetch').length >= sources.length * 2, 20_000);
      }
      const jobs = await queues.fetch.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
      for (const source of sources) {
        const ticks = jobs.filter((job) => job.id?.startsWith(`tick|${source.key}|`));
        const distinct = new Set(ticks.map((job) => job.data.tick));
        expect(ticks.length, source.key).toBe(distinct.size);
        expect(ticks.length, source.key).toBeGreaterThanOrEqual(1);
        expect(ticks.length, source.key).toBeLessThanOrEqual(2);
      }
    } finally {
      for (const p of processes) p.child.kill('SIGTERM');
      for (const p of processes) await p.exited;
      await closeQueues(queues);
      connection.disconnect();
      await publisher.close();
      await redis.cleanup();
      await db.drop();
    }
  }, 60_000);
});

describe('scheduler', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await createTestRedis();
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('two fetcher replicas on the same tick produce one job per source', async () => {
    // Two "processes": separate connections, separate Queue objects, separate cron tasks.
    const replicas = [0, 1].map(() => {
      const connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
      return { connection, queues: createQueues({ connection, prefix: redis.prefix }) };
    });
    const sources = ['bs-news', 'js-news', 'sh-tjj-monthly'].map((key) => ({
      key,
      name: key,
      publisher: 'p',
      format: 'news-list' as const,
      url: `https://${key}.gov.cn/`,
      schedule: '* * * * * *', // every second: many firings of each replica within one minute tick
      lang: 'zh' as const,
      enabled: true,
      politeness: { minDelayMs: 0, concurrency: 1, timeoutMs: 1000, maxBytes: 1024 * 1024 },
      discovery: { maxPages: 1, maxDepth: 0 },
    }));
    const schedulers = replicas.map((r) => startScheduler({ queues: r.queues, sources, logger, jobOptions: fetchJobOptions(1, 10) }));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await Promise.all(schedulers.map((s) => s.stop()));
    try {
      const jobs = await replicas[0]!.queues.fetch.getJobs(['waiting']);
      for (const source of sources) {
        const mine = jobs.filter((j) => j.data.sourceKey === source.key);
        const ticks = new Set(mine.map((j) => j.data.tick));
        // One job per (source, tick): usually one tick, two if the run crossed a minute boundary.
        expect(mine.length).toBe(ticks.size);
        expect(mine.length).toBeGreaterThanOrEqual(1);
        expect(mine.length).toBeLessThanOrEqual(2);
      }
    } finally {
      for (const r of replicas) {
        await closeQueues(r.queues);
        r.connection.disconnect();
      }
    }
  });
});
