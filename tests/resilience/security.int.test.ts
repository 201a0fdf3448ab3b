/**
 * Intruders: fetches aimed at private addresses (literal, through DNS, after a redirect, in IPv6
 * forms), SQL in page content and in CLI arguments, the consumers' read-only role trying to write
 * or to read what it may not, requests to the ops UI's write endpoints without credentials, and
 * secrets that must never reach a log line.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@nst/shared/db';
import { createFetchDeps, createFetchWorker, createGuard, FetcherEnv, fetchJobOptions, loadSources, startPublisher, type Publisher } from '@nst/fetcher';

import { enqueue, jobId } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, waitForQueuesIdle, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { eventually, freePort, ROOT, sleep, startProxy, startService } from '../helpers';
import {
  createPipelineDatabase,
  enqueueAllSources,
  failedJobs,
  openQueues,
  PipelineServices,
  runCorpus,
  serviceEnv,
  sourceKeyOf,
  startOwnRedis,
  waitForPipelineIdle,
} from './harness';

const run = promisify(execFile);
const logger = createLogger({ service: 'security-test', level: 'silent' });
const SQL_DROP_OBSERVATION = "'); DROP TABLE core.observation; --";

/** Run the CLI; resolves with its exit code and output, never rejects. */
async function nst(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(`${ROOT}node_modules/.bin/tsx`, ['packages/cli/src/main.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('SSRF: nothing is fetched outside the registry hosts or at a non-public address', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let publisher: Publisher;
  const connection = () => createRedis(redis.url, { role: 'worker', name: redis.prefix });

  /** Names of registry hosts and what a hostile (or misconfigured) DNS answers for them. */
  const DNS: Record<string, string[]> = {
    'loopback.ssrf.nst.test': ['127.0.0.1'],
    'private-10.ssrf.nst.test': ['10.0.0.7'],
    'private-172.ssrf.nst.test': ['172.16.5.4'],
    'private-192.ssrf.nst.test': ['192.168.1.10'],
    'metadata.ssrf.nst.test': ['169.254.169.254'],
    'cgnat.ssrf.nst.test': ['100.64.0.1'],
    'unspecified.ssrf.nst.test': ['0.0.0.0'],
    'v6-loopback.ssrf.nst.test': ['::1'],
    'v6-mapped.ssrf.nst.test': ['::ffff:127.0.0.1'],
    'v6-mapped-hex.ssrf.nst.test': ['::ffff:7f00:1'],
    'v6-unique-local.ssrf.nst.test': ['fd00::1'],
    'v6-link-local.ssrf.nst.test': ['fe80::1'],
    // One public answer beside a private one: refused (the connection could take either).
    'mixed.ssrf.nst.test': ['93.184.216.34', '10.0.0.1'],
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = await createTestRedis();
    publisher = await startPublisher();
    await db.pool.query(`UPDATE raw.source SET politeness = politeness || '{"minDelayMs": 0, "timeoutMs": 3000}'::jsonb`);
    // Each name is a registry host (the allow-list lets it through); only its address can stop it.
    // The port is the publisher's: a fetch that got past the guard would show up in its log.
    for (const [index, host] of Object.keys(DNS).entries()) {
      await db.pool.query(
        `INSERT INTO raw.source (key, name, publisher, district, format, url, schedule, politeness)
         VALUES ($1, $1, 'ssrf test', 'baoshan', 'stats-table', $2, '0 7 * * *', '{"minDelayMs": 0, "timeoutMs": 3000}')`,
        [`ssrf-dns-${index}`, `http://${host}:${publisher.port}/index.html`],
      );
    }
  });
  afterAll(async () => {
    await publisher?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  /** Run fetch jobs through a real fetch worker (online unless `offline`), then return each job's fetch_log. */
  async function fetchThroughWorker(
    jobs: Array<{ id: string; sourceKey: string; url?: string }>,
    options: { offline: boolean; resolve?: (host: string) => Promise<Array<{ address: string; family: number }>> },
  ): Promise<Map<string, { state: string; attempts: number; log: Array<{ outcome: string; error_code: string }> }>> {
    const producer = connection();
    const consumer = connection();
    const { queues, close } = openQueues(redis.url, redis.prefix);
    const sources = await loadSources(db.pool);
    const env = FetcherEnv.parse({ NST_OFFLINE: options.offline ? '1' : '0', NST_PUBLISHER_URL: publisher.url, NST_QUEUE_PREFIX: redis.prefix, FETCH_BACKOFF_MS: '20' });
    const deps = createFetchDeps({ env, pool: db.pool, queues, redis: producer, logger, sources });
    if (options.resolve) {
      // The same guard as in production, with the DNS answers of this test.
      deps.guard = createGuard({ allowedHosts: sources.map((s) => new URL(s.url).host), resolve: options.resolve });
    }
    const worker: Worker = createFetchWorker(deps, { connection: consumer, prefix: redis.prefix, concurrency: 4, backoffMs: 20 });
    try {
      for (const job of jobs) {
        await enqueue(queues, 'fetch-source', { sourceKey: job.sourceKey, ...(job.url ? { url: job.url, role: 'document' as const } : {}), force: true }, { ...fetchJobOptions(3, 20), jobId: jobId('ssrf', job.id) });
      }
      await waitForQueuesIdle([queues.fetch], { timeoutMs: 30_000 });
      const out = new Map<string, { state: string; attempts: number; log: Array<{ outcome: string; error_code: string }> }>();
      for (const job of jobs) {
        const bull = (await queues.fetch.getJob(jobId('ssrf', job.id)))!;
        const { rows } = await db.pool.query('SELECT outcome, error_code FROM raw.fetch_log WHERE job_id = $1 ORDER BY id', [bull.id]);
        out.set(job.id, { state: await bull.getState(), attempts: bull.attemptsMade, log: rows });
      }
      return out;
    } finally {
      await worker.close();
      await close();
      producer.disconnect();
      consumer.disconnect();
    }
  }

  it('refuses a registry name that DNS resolves to a private, loopback, link-local, CGNAT, unspecified or IPv6-local address, before connecting', async () => {
    const before = publisher.requests.length;
    const resolve = async (host: string) => (DNS[host] ?? ['93.184.216.34']).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const jobs = Object.keys(DNS).map((host, index) => ({ id: host, sourceKey: `ssrf-dns-${index}` }));
    const results = await fetchThroughWorker(jobs, { offline: false, resolve });
    for (const [host, addresses] of Object.entries(DNS)) {
      expect({ host, addresses, ...results.get(host) }).toEqual({
        host,
        addresses,
        state: 'failed',
        attempts: 1,
        log: [{ outcome: 'refused', error_code: 'ssrf_private_address' }],
      });
    }
    // Not one request reached the server listening at 127.0.0.1.
    expect(publisher.requests.length).toBe(before);
    const archived = await db.pool.query("SELECT count(*)::int AS n FROM raw.document WHERE source_key LIKE 'ssrf-%'");
    expect(archived.rows[0].n).toBe(0);
  });

  it('refuses literal addresses in every spelling: IPv4 shorthand, octal, hex, decimal, IPv6 loopback and IPv4-mapped forms', async () => {
    const port = publisher.port;
    const literals = [
      `http://127.0.0.1:${port}/`,
      `http://127.1:${port}/`,
      `http://0177.0.0.1:${port}/`,
      `http://0x7f.0.0.1:${port}/`,
      `http://2130706433:${port}/`,
      `http://0.0.0.0:${port}/`,
      `http://[::1]:${port}/`,
      `http://[::]:${port}/`,
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::ffff:7f00:1]:${port}/`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${port}/`,
      `http://[fe80::1]/`,
      `http://[fd12:3456::1]/`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://user:pass@127.0.0.1:${port}/`,
    ];
    const before = publisher.requests.length;
    const results = await fetchThroughWorker(literals.map((url, i) => ({ id: `literal-${i}`, sourceKey: 'bs-news', url })), { offline: false, resolve: async () => [] });
    literals.forEach((url, i) => {
      expect({ url, ...results.get(`literal-${i}`) }).toEqual({ url, state: 'failed', attempts: 1, log: [{ outcome: 'refused', error_code: 'ssrf_private_address' }] });
    });
    const others = [
      ['file:///etc/passwd', 'ssrf_scheme'],
      ['ftp://xxgk.shbsq.gov.cn/', 'ssrf_scheme'],
      ['https://www.shbsq.gov.cn.evil.example/', 'ssrf_host_not_allowed'],
      ['https://www.shbsq.gov.cn@evil.example/', 'ssrf_host_not_allowed'],
    ] as const;
    const refused = await fetchThroughWorker(others.map(([url], i) => ({ id: `other-${i}`, sourceKey: 'bs-news', url })), { offline: false, resolve: async () => [] });
    others.forEach(([url, code], i) => {
      expect({ url, ...refused.get(`other-${i}`) }).toEqual({ url, state: 'failed', attempts: 1, log: [{ outcome: 'refused', error_code: code }] });
    });
    expect(publisher.requests.length).toBe(before);
  });

  it('refuses a redirect to a loopback address in IPv6 forms or to localhost, offline too', async () => {
    const source = (await loadSources(db.pool)).find((s) => s.key === 'bs-bulletin')!;
    const path = source.url.replace(/^https:\/\//, '');
    const targets = [
      [`http://[::1]:${publisher.port}/admin`, 'ssrf_private_address'],
      [`http://[::ffff:127.0.0.1]:${publisher.port}/admin`, 'ssrf_private_address'],
      [`http://[::ffff:a00:1]/`, 'ssrf_private_address'],
      [`http://localhost:${publisher.port}/admin`, 'ssrf_host_not_allowed'],
    ] as const;
    for (const [index, [location, code]] of targets.entries()) {
      publisher.setFault(path, { kind: 'redirect', location });
      const before = publisher.requests.length;
      const results = await fetchThroughWorker([{ id: `redirect-${index}`, sourceKey: source.key, url: source.url }], { offline: true });
      expect({ location, ...results.get(`redirect-${index}`) }).toEqual({ location, state: 'failed', attempts: 1, log: [{ outcome: 'refused', error_code: code }] });
      // The only request served was the redirect itself (and robots.txt): never its target.
      expect(publisher.requests.slice(before).map((r) => r.path).filter((p) => !p.endsWith('robots.txt'))).toEqual([path]);
    }
    publisher.clearFaults();
  });
});

describe('SQL-looking strings are stored as text, never executed', () => {
  it('in page content: an indicator label, a page title and a news title, through the fetcher and the normalizer', async () => {
    const cases = [
      { name: 'sql-label', path: 'tjsj/ydsj/sql-in-label.html', format: 'stats-table' as const, body: readFileSync(`${ROOT}seeds/fixtures/bad/sql-in-label.html`) },
      { name: 'sql-news', path: 'shbs/bsyw/20250312/sql-in-news.html', format: 'news-article' as const, body: readFileSync(`${ROOT}seeds/fixtures/bad/sql-in-news.html`) },
    ];
    await runCorpus(cases, async ({ db, queues }) => {
      expect(await failedJobs(queues)).toEqual([]);
      const [label, news] = cases.map((c) => sourceKeyOf(c));
      const rejects = await db.pool.query('SELECT reason, detail, raw FROM core.reject WHERE source_key = $1 ORDER BY id', [label]);
      expect(rejects.rows.map((r) => r.reason)).toEqual(['unknown_indicator', 'unknown_indicator']);
      expect(rejects.rows[0].detail).toContain(SQL_DROP_OBSERVATION);
      expect(JSON.stringify(rejects.rows[0].raw)).toContain(SQL_DROP_OBSERVATION);
      const item = await db.pool.query('SELECT n.title, n.summary FROM core.news_item n JOIN raw.document d ON d.id = n.document_id WHERE d.source_key = $1', [news]);
      expect(item.rows).toEqual([{ title: `宝山新材料产业园开园${SQL_DROP_OBSERVATION}`, summary: expect.stringContaining(`"; DELETE FROM raw.source WHERE ''=''; --`) }]);
      // Every table is still there, with its rows.
      const intact = await db.pool.query(`SELECT to_regclass('core.observation') IS NOT NULL AS observation, to_regclass('agg.target') IS NOT NULL AS target,
        (SELECT count(*)::int FROM raw.source) AS sources, (SELECT count(*)::int FROM agg.target WHERE value = 0) AS zeroed_targets`);
      expect(intact.rows[0]).toEqual({ observation: true, target: true, sources: expect.any(Number), zeroed_targets: 0 });
      expect(intact.rows[0].sources).toBeGreaterThanOrEqual(12);
    });
  });

  it('in CLI arguments: a clear error or an empty result, and every table intact', async () => {
    const db = await createTestDatabase();
    const redis = await createTestRedis();
    const env = { DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix };
    const counts = () => db.pool.query(`SELECT (SELECT count(*)::int FROM raw.source) AS sources, (SELECT count(*)::int FROM agg.target) AS targets,
      (SELECT count(*)::int FROM core.indicator) AS indicators, to_regclass('raw.document') IS NOT NULL AS documents`).then((r) => r.rows[0]);
    try {
      const before = await counts();
      const fetch = await nst(['fetch', "x'; DROP TABLE raw.source; --"], env);
      expect(fetch).toMatchObject({ code: 2, stderr: `nst: unknown source "x'; DROP TABLE raw.source; --" (see \`nst sources\`)\n` });
      const reprocess = await nst(['reprocess', '--source', "x' OR '1'='1"], env);
      expect(reprocess).toMatchObject({ code: 0, stdout: 'reprocessed 0 documents (enqueued for the normalizer service)\n' });
      const progress = await nst(['progress', '--as-of', "2025-01-01'; DROP TABLE agg.target; --"], env);
      expect(progress.code).toBe(2);
      expect(progress.stderr).toMatch(/^nst: --as-of must be a date/);
      const jobs = await nst(['jobs', 'failed', '--queue', "fetch'; FLUSHALL; --"], env);
      expect(jobs.code).toBe(2);
      expect(jobs.stderr).toMatch(/^nst: --queue must be one of fetch, normalize, aggregate/);
      const replay = await nst(['jobs', 'replay', '--queue', 'fetch', '--id', "1'; DROP TABLE raw.document; --"], env);
      expect(replay).toMatchObject({ code: 0, stdout: expect.stringContaining('no such job') });
      expect(await counts()).toEqual(before);
    } finally {
      await redis.cleanup();
      await db.drop();
    }
  });
});

describe('the nst_reader role', () => {
  let db: TestDatabase;
  let reader: Pool;
  let relations: Array<{ schema: string; name: string; kind: string; column: string }>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const url = new URL(db.url);
    url.username = 'nst_reader';
    url.password = '';
    reader = createPool(url.toString(), { max: 1, applicationName: 'nst-test-reader' });
    // Every table and view of the three schemas, with one of its columns.
    relations = (
      await db.pool.query(`
        SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind,
               (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum LIMIT 1) AS column
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('raw', 'core', 'agg') AND c.relkind IN ('r', 'v', 'm', 'p')
        ORDER BY 1, 2`)
    ).rows;
  });
  afterAll(async () => {
    await reader?.end();
    await db?.drop();
  });

  /**
   * Whether the statement fails for want of a right. A view that is not auto-updatable is refused
   * before rights are looked at ("cannot insert into view"): nobody can write it, which is as good.
   */
  const refused = async (sql: string, view = false) => {
    const error = await reader.query(sql).then(() => undefined, (e: Error) => e);
    if (!error) return false;
    return /permission denied|must be owner/.test(error.message) || (view && /^cannot (insert into|update|delete from) view/.test(error.message));
  };

  it('reads every table and view of agg', async () => {
    const agg = relations.filter((r) => r.schema === 'agg');
    expect(agg.length).toBeGreaterThanOrEqual(4);
    for (const r of agg) await expect(reader.query(`SELECT * FROM agg.${r.name} LIMIT 1`), r.name).resolves.toBeDefined();
  });

  it('is refused on every table and view of raw and core, even to read', async () => {
    const hidden = relations.filter((r) => r.schema !== 'agg');
    expect(hidden.length).toBeGreaterThanOrEqual(8);
    const allowed: string[] = [];
    for (const r of hidden) if (!(await refused(`SELECT * FROM ${r.schema}.${r.name} LIMIT 1`))) allowed.push(`${r.schema}.${r.name}`);
    expect(allowed).toEqual([]);
    expect(await refused('SELECT * FROM core.observation_as_of(now())')).toBe(true);
  });

  it('is refused on every write to every relation of raw, core and agg', async () => {
    const allowed: string[] = [];
    for (const r of relations) {
      const name = `${r.schema}.${r.name}`;
      const writes = [
        `INSERT INTO ${name} DEFAULT VALUES`,
        `UPDATE ${name} SET "${r.column}" = "${r.column}"`,
        `DELETE FROM ${name}`,
        ...(r.kind === 'r' ? [`TRUNCATE ${name}`, `ALTER TABLE ${name} ADD COLUMN intruder int`, `DROP TABLE ${name}`] : [`DROP VIEW ${name}`]),
      ];
      for (const sql of writes) if (!(await refused(sql, r.kind === 'v'))) allowed.push(sql);
    }
    for (const sql of [
      'CREATE TABLE agg.intruder (id int)',
      'CREATE TABLE public.intruder (id int)',
      'CREATE SCHEMA intruder',
      "SELECT nextval('raw.document_id_seq')",
      'SET ROLE postgres',
      'GRANT SELECT ON raw.document TO nst_reader',
    ]) {
      if (!(await refused(sql))) allowed.push(sql);
    }
    expect(allowed).toEqual([]);
    // And nothing changed.
    const targets = await db.pool.query('SELECT count(*)::int AS n FROM agg.target');
    expect(targets.rows[0].n).toBeGreaterThan(0);
  });
});

describe('the ops surfaces refuse every request without credentials', () => {
  it('Bull Board: the UI, its read API and every one of its write endpoints answer 401 without or with wrong credentials, and change nothing', async () => {
    const redis = await createTestRedis();
    const { queues, close } = openQueues(redis.url, redis.prefix);
    const password = 'ops-S3cret-Pw_4m8z';
    const child = spawn(`${ROOT}node_modules/.bin/tsx`, ['packages/cli/src/main.ts', 'ops-ui', '--port', '0'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix, NODE_ENV: 'production', NST_OPS_USER: 'ops', NST_OPS_PASSWORD: password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      // A failed job and a waiting one, so that a retry, clean, promote or empty would show.
      await enqueue(queues, 'normalize-document', { documentId: 1 }, { jobId: 'waiting-one' });
      const failerConnection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
      const failer = new Worker('fetch', async () => { throw new UnrecoverableError('http_404: gone'); }, { connection: failerConnection, prefix: redis.prefix });
      await queues.fetch.add('fetch-source', { sourceKey: 'bs-news' }, { jobId: 'failed-one', attempts: 1 });
      await eventually(async () => (await queues.fetch.getJobCounts('failed')).failed === 1, 10_000, 50);
      await failer.close();
      failerConnection.disconnect();
      await eventually(async () => /listening on http:\/\/\S+/.test(output), 30_000, 100);
      const base = /listening on (http:\/\/\S+)/.exec(output)![1]!.replace(/\/$/, '');
      const snapshot = async () => ({
        fetch: await queues.fetch.getJobCounts('failed', 'waiting', 'delayed', 'completed'),
        normalize: await queues.normalize.getJobCounts('failed', 'waiting', 'delayed', 'completed'),
        paused: [await queues.fetch.isPaused(), await queues.normalize.isPaused()],
      });
      const before = await snapshot();
      const writes: Array<[string, string]> = [
        ['PUT', '/api/queues/pause'],
        ['PUT', '/api/queues/resume'],
        ['POST', '/api/queues/fetch/add'],
        ['PUT', '/api/queues/fetch/retry/failed'],
        ['PUT', '/api/queues/fetch/promote'],
        ['PUT', '/api/queues/fetch/clean/failed'],
        ['PUT', '/api/queues/normalize/pause'],
        ['PUT', '/api/queues/normalize/resume'],
        ['PUT', '/api/queues/normalize/concurrency'],
        ['PUT', '/api/queues/normalize/rate-limit'],
        ['PUT', '/api/queues/normalize/rate-limit/release'],
        ['PUT', '/api/queues/normalize/empty'],
        ['PUT', '/api/queues/normalize/obliterate'],
        ['PUT', '/api/queues/fetch/job-schedulers/x/remove'],
        ['PATCH', '/api/queues/fetch/job-schedulers/x'],
        ['PUT', '/api/queues/fetch/job-schedulers/x/run'],
        ['PUT', '/api/queues/fetch/failed-one/retry'],
        ['PUT', '/api/queues/fetch/failed-one/clean'],
        ['PUT', '/api/queues/normalize/waiting-one/promote'],
        ['PATCH', '/api/queues/normalize/waiting-one/update-data'],
        ['PATCH', '/api/queues/normalize/waiting-one/delay'],
        ['PATCH', '/api/queues/normalize/waiting-one/priority'],
        ['PUT', '/api/queues/normalize/waiting-one/remove-unprocessed-children'],
      ];
      const reads: Array<[string, string]> = [['GET', '/'], ['GET', '/api/queues'], ['GET', '/api/queues/fetch/failed-one'], ['GET', '/api/queues/fetch/failed-one/logs']];
      const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
      const attempts: Array<Record<string, string>> = [{}, { authorization: basic('ops:admin') }, { authorization: basic(`admin:${password}`) }, { authorization: 'Bearer whatever' }, { authorization: basic(`ops:${password}x`) }];
      const answers: string[] = [];
      for (const [method, path] of [...writes, ...reads]) {
        for (const headers of attempts) {
          const response = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(method === 'GET' ? {} : { body: '{"name":"fetch-source","data":{},"concurrency":1,"delay":0,"priority":1}' }) });
          if (response.status !== 401) answers.push(`${method} ${path} ${JSON.stringify(headers)} → ${response.status}`);
        }
      }
      expect(answers).toEqual([]);
      expect(await snapshot()).toEqual(before);
      // The endpoints are real: with the credentials, a pause takes effect (then it is undone).
      const authorised = { authorization: basic(`ops:${password}`) };
      expect((await fetch(`${base}/api/queues/normalize/pause`, { method: 'PUT', headers: authorised })).status).toBeLessThan(300);
      expect(await queues.normalize.isPaused()).toBe(true);
      await queues.normalize.resume();
      expect(output).not.toContain(password);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await close();
      await redis.cleanup();
    }
  });

  it("the services' ops servers take no writes: every method but GET is refused", async () => {
    const db = await createTestDatabase();
    const redis = await createTestRedis();
    const port = await freePort();
    const service = startService('services/normalizer/src/main.ts', { DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix, PORT: String(port) });
    try {
      await service.waitForLine((line) => line.msg === 'normalizer started');
      for (const path of ['/healthz', '/readyz', '/metrics', '/']) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          expect(`${method} ${path} ${(await fetch(`http://127.0.0.1:${port}${path}`, { method })).status}`).toBe(`${method} ${path} 405`);
        }
      }
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
      await redis.cleanup();
      await db.drop();
    }
  });
});

describe('no secret in any log line', () => {
  it('the database and Redis passwords and the ops credentials never appear in the output of the services or the CLI, even when things go wrong', async () => {
    const secrets = { postgres: 'pg-S3cret-Pw_9f2k', redis: 'redis-S3cret-Pw_7q1x', ops: 'ops-S3cret-Pw_4m8z', reader: 'reader-S3cret-Pw_2c6v' };
    const db = await createPipelineDatabase();
    const redis = await startOwnRedis({ password: secrets.redis });
    const target = new URL(db.url);
    const proxy = await startProxy(target.hostname, Number(target.port || 5432));
    // PostgreSQL here trusts local connections, so any password is accepted: the URL carries one anyway.
    const databaseUrl = `postgres://postgres:${encodeURIComponent(secrets.postgres)}@127.0.0.1:${proxy.port}${target.pathname}`;
    const publisher = await startPublisher();
    const { queues, close } = openQueues(redis.url, 'nst');
    const services = new PipelineServices({
      ...serviceEnv({ databaseUrl, redisUrl: redis.url, prefix: 'nst', publisherUrl: publisher.url }),
      LOG_LEVEL: 'debug',
      NST_OPS_USER: 'ops',
      NST_OPS_PASSWORD: secrets.ops,
      NST_READER_PASSWORD: secrets.reader,
    });
    const cliOutput: string[] = [];
    const cliEnv = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, NST_QUEUE_PREFIX: 'nst', NST_OPS_PASSWORD: secrets.ops, NST_READER_PASSWORD: secrets.reader, NODE_ENV: 'production' };
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      const result = await nst(args, { ...cliEnv, ...extra });
      cliOutput.push(result.stdout, result.stderr);
      return result;
    };
    try {
      await services.startAll();
      // Make them talk about failure: PostgreSQL away as the first jobs run (cut before they are
      // enqueued: a run can be over within a second), Redis killed and back.
      proxy.cut();
      await enqueueAllSources(db.pool, queues, `secrets-${Date.now()}`);
      await sleep(3_000);
      proxy.restore();
      await redis.stop('SIGKILL');
      await sleep(1_500);
      await redis.start();
      await waitForPipelineIdle(queues, 120_000, services);
      expect(await failedJobs(queues)).toEqual([]);
      expect(services.lines().some((line) => line.msg === 'waiting for PostgreSQL')).toBe(true);
      // The CLI, working and failing: a status, an unreachable server, a bad variable, an ops UI refusing to start.
      expect((await cli(['status'])).code).toBe(0);
      proxy.cut();
      expect((await cli(['status'])).stderr).toMatch(/^nst: cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/nst_test_\w+ /);
      proxy.restore();
      expect((await cli(['status'], { REDIS_URL: `redis://:${secrets.redis}@127.0.0.1:1` })).stderr).toMatch(/^nst: cannot reach Redis at 127\.0\.0\.1:1 /);
      expect((await cli(['status'], { DATABASE_URL: `mysql://root:${secrets.postgres}@db/x` })).stderr).toMatch(/^nst: invalid environment: DATABASE_URL must be/);
      expect((await cli(['migrate'], { NST_READER_PASSWORD: 'short' })).stderr).toMatch(/^nst: invalid environment: NST_READER_PASSWORD must be at least 12 characters/);
      expect((await cli(['ops-ui', '--port', '0'], { NST_OPS_PASSWORD: 'admin' })).stderr).toMatch(/refusing to start the ops UI/);
      for (const stage of ['fetcher', 'normalizer', 'aggregator'] as const) services.processes.get(stage)!.child.kill('SIGTERM');
      for (const stage of ['fetcher', 'normalizer', 'aggregator'] as const) await services.processes.get(stage)!.exited;
      const everything = [
        ...services.history.flatMap(({ process }) => [...process.lines.map((line) => JSON.stringify(line)), process.stderr()]),
        ...cliOutput,
      ].join('\n');
      expect(services.lines().length).toBeGreaterThan(100);
      for (const [name, secret] of Object.entries(secrets)) {
        for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
          expect(everything.includes(form), `${name} secret (${form}) in the output`).toBe(false);
        }
      }
    } finally {
      await services.stopAll();
      await close();
      await publisher.close();
      await proxy.close();
      await redis.destroy();
      await db.drop();
    }
  });
});
