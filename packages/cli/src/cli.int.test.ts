import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolitenessGate } from '@nst/fetcher';
import { closeQueues, createQueues } from '@nst/shared/jobs';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { bundleArgs } from '../../../scripts/bundles';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Run `nst` as production runs it (the Dockerfile's `migrate` target: the bundle `pnpm build`
 * made, which carries the packages every command loads), returning exit code and output.
 */
async function nst(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...bundleArgs('packages/cli/src/main.ts'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('nst CLI', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false, seed: false });
    redis = await createTestRedis();
    env = { DATABASE_URL: db.url, REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix };
  });
  afterAll(async () => {
    await redis.cleanup();
    await db.drop();
  });

  it.each([
    ['REDIS_URL', 'nonsense', /^nst: invalid environment: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    ['DATABASE_URL', 'mysql://x@y/z', /^nst: invalid environment: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['LOG_LEVEL', 'loud', /^nst: invalid environment: LOG_LEVEL /],
  ])('%s=%s exits non-zero with one clear line', async (name, value, message) => {
    const result = await nst(['status'], { ...env, [name]: value });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('an unreachable Redis is one line naming it', async () => {
    const result = await nst(['status'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^nst: cannot reach Redis at 127.0.0.1:1 \(ECONNREFUSED\)/);
  });

  it('migrate applies, seeds, and a second run changes nothing', async () => {
    const first = await nst(['migrate'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied 0001_/);
    expect(first.stdout).toMatch(/seeds: 13 indicators, \d+ sources, \d+ targets \([1-9]\d* rows changed\)/);
    const second = await nst(['migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/migrations: up to date/);
    expect(second.stdout).toMatch(/\(0 rows changed\)/);
  });

  it('status prints every queue', async () => {
    await nst(['migrate'], env);
    const result = await nst(['status'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const queue of ['fetch', 'normalize', 'aggregate']) expect(result.stdout).toContain(queue);
  });

  it("status shows each host's politeness: the fetch jobs waiting for its turn, and when its last turn comes", async () => {
    await nst(['migrate'], env);
    const connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    const queues = createQueues({ connection: { url: redis.url }, prefix: redis.prefix });
    try {
      // Three turns of a host given out, 3 s apart: the last about 6 s away.
      const gate = createPolitenessGate(connection, redis.prefix);
      let lastTurn = 0;
      for (let i = 0; i < 3; i += 1) lastTurn = (await gate.reserve('www.jinshan.gov.cn', 3000, 'js-news')).slotAt;
      // Two jobs wait for their turns in the queue (a turn kept in their data), one of them for its
      // source's entry URL; a job delayed for a retry's backoff is not waiting for a turn.
      const page = (name: string) => ({ sourceKey: 'js-news', url: `https://www.jinshan.gov.cn/jsyw/${name}.html`, role: 'document', reason: 'manual' });
      await queues.fetch.add('fetch-source', { ...page('a'), turnAt: lastTurn - 3000, turnAttempt: 0 }, { delay: 60_000, jobId: 'turn-a' });
      await queues.fetch.add('fetch-source', { sourceKey: 'js-news', reason: 'schedule', turnAt: lastTurn, turnAttempt: 0 }, { delay: 60_000, jobId: 'turn-entry' });
      await queues.fetch.add('fetch-source', page('b'), { delay: 60_000, jobId: 'backoff-b' });
      // …nor is one whose turn was an earlier attempt's (attemptsMade is 0 here).
      await queues.fetch.add('fetch-source', { ...page('c'), turnAt: lastTurn, turnAttempt: 1 }, { delay: 60_000, jobId: 'backoff-c' });

      // A key of another kind under the same name (another deployment's prefix could end so) is not a host.
      await connection.set(`${redis.prefix}:politeness:not-a-host`, 'x');

      const json = await nst(['status', '--json'], env);
      expect(json.code).toBe(0);
      const { hosts } = JSON.parse(json.stdout) as { hosts: Array<Record<string, unknown>> };
      expect(hosts).toEqual([{ host: 'www.jinshan.gov.cn', waitingForTurn: 2, delayMs: 3000, lastTurnInMs: expect.any(Number), lastRequestAgoMs: null }]);
      expect(hosts[0]!.lastTurnInMs).toBeGreaterThan(0);
      expect(hosts[0]!.lastTurnInMs).toBeLessThanOrEqual(6000);

      const text = await nst(['status'], env);
      expect(text.stdout).toMatch(/www\.jinshan\.gov\.cn\s*│\s*2\s*│\s*3000\s*│\s*(?:in \d+ s|\d+ s ago)/);
    } finally {
      await queues.fetch.obliterate({ force: true });
      await closeQueues(queues);
      connection.disconnect();
    }
  });

  it('reprocess hands every archived document of the source to the normalizer, once', async () => {
    await nst(['migrate'], env);
    const { rows } = await db.pool.query<{ id: number }>(
      `INSERT INTO raw.document (source_key, url, final_url, http_status, body_gzip, body_size, sha256_bytes, sha256_canonical, role, format)
       SELECT 'bs-bulletin', u, u, 200, '\\x1f8b', 0, repeat('a', 64), lpad(to_hex(i), 64, '0'), r, 'bulletin'
       FROM generate_series(1, 70) i, LATERAL (SELECT 'https://xxgk.shbsq.gov.cn/cli-test/' || i || '.html' AS u,
                                                      CASE WHEN i <= 68 THEN 'document' ELSE 'list' END AS r) page
       RETURNING id, role`,
    );
    expect(rows).toHaveLength(70);
    const result = await nst(['reprocess', '--source', 'bs-bulletin'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^reprocessed 68 documents \(enqueued for the normalizer service\)$/m);
    const queues = createQueues({ connection: { url: redis.url }, prefix: redis.prefix });
    try {
      const jobs = await queues.normalize.getJobs(['waiting', 'prioritized']);
      const documents = jobs.map((job) => (job.data as { documentId: number }).documentId).sort((a, b) => a - b);
      const { rows: wanted } = await db.pool.query<{ id: number }>("SELECT id FROM raw.document WHERE source_key = 'bs-bulletin' AND role = 'document' ORDER BY id");
      expect(documents).toEqual(wanted.map((row) => row.id));
    } finally {
      await queues.normalize.obliterate({ force: true });
      await closeQueues(queues);
    }
  });

  it('parse prints the records of a fixture page, with no database or Redis configured', async () => {
    const page = `${root}seeds/fixtures/sites/tjj.sh.gov.cn/ydsj/202510/dd6e362c09190f1fd415940b83b70670.html`;
    const result = await nst(['parse', page], {});
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const records = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { kind: string });
    expect(records.filter((record) => record.kind === 'observation').length).toBeGreaterThan(0);
  });
});
