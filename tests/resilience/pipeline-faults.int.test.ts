/**
 * The whole pipeline under faults, as real service processes against real Redis and PostgreSQL:
 * services killed with SIGKILL at random moments and restarted, Redis killed and restarted, and
 * PostgreSQL unreachable for 20 s. Each run must end with exactly the rows of a clean run
 * (`nst run --once --offline`): nothing lost, nothing duplicated, nothing invented, no failed job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPublisher, type Publisher } from '@nst/fetcher';
import type { Queues } from '@nst/shared/jobs';
import type { TestDatabase } from '@nst/shared/testing';
import { createTestRedis } from '@nst/shared/testing';
import { diffRows, pipelineRows, startProxy } from '../helpers';
import { mulberry32 } from './generate';
import {
  createPipelineDatabase,
  duplicateRows,
  enqueueAllSources,
  failedJobs,
  openQueues,
  pendingJobs,
  PipelineServices,
  referenceRun,
  serviceEnv,
  sleep,
  STAGES,
  startOwnRedis,
  waitForPipelineIdle,
  type Stage,
} from './harness';

/** The seed of the kill schedule: change it to explore other interleavings, keep it to reproduce one. */
const SEED = 20_260_609;
const ROUNDS = 4;

interface Scenario {
  db: TestDatabase;
  queues: Queues;
  services: PipelineServices;
}

describe('the pipeline under faults ends exactly as a clean run', () => {
  let publisher: Publisher;
  let expected: Record<string, string[]>;

  beforeAll(async () => {
    publisher = await startPublisher();
    expected = await referenceRun();
    // The reference is a real run: every source archived, figures and snapshots computed.
    expect(expected.documents!.length).toBeGreaterThan(100);
    expect(expected.observations!.length).toBeGreaterThan(1000);
    expect(expected.snapshotHistory!.length).toBeGreaterThan(5);
  }, 240_000);

  afterAll(async () => {
    await publisher?.close();
  });

  /**
   * Run every enabled source through the three services, with `disturb` acting on them while they
   * work, wait until every queue is drained, and check the tables against the clean run.
   */
  async function runScenario(
    options: { redisUrl?: string; prefix?: string; databaseUrl?: (db: TestDatabase) => Promise<string>; env?: Record<string, string> },
    disturb: (scenario: Scenario) => Promise<void>,
  ): Promise<Scenario> {
    const db = await createPipelineDatabase();
    const testRedis = options.redisUrl ? undefined : await createTestRedis();
    const redisUrl = options.redisUrl ?? testRedis!.url;
    const prefix = options.prefix ?? testRedis!.prefix;
    const { queues, close } = openQueues(redisUrl, prefix);
    const services = new PipelineServices({
      ...serviceEnv({ databaseUrl: options.databaseUrl ? await options.databaseUrl(db) : db.url, redisUrl, prefix, publisherUrl: publisher.url }),
      ...options.env,
    });
    const scenario = { db, queues, services };
    try {
      await services.startAll();
      await enqueueAllSources(db.pool, queues, `resilience-${Date.now()}`);
      await disturb(scenario);
      await waitForPipelineIdle(queues, 150_000, services);
      // Every job completed in the end: retried, handed back after a crash, or waited out an outage.
      expect(await failedJobs(queues)).toEqual([]);
      expect(await duplicateRows(db.pool)).toEqual([]);
      const actual = await pipelineRows(db.pool);
      const noDifference = Object.fromEntries(Object.keys(expected).map((name) => [name, { missing: [], extra: [] }]));
      expect(diffRows(expected, actual)).toEqual(noDifference);
      for (const name of Object.keys(expected)) expect(actual[name]!.length, name).toBe(expected[name]!.length);
      // No service died on its own.
      expect(services.running()).toEqual({ fetcher: true, normalizer: true, aggregator: true });
      return scenario;
    } finally {
      await services.stopAll();
      await close();
      await testRedis?.cleanup();
      await db.drop();
    }
  }

  it(`SIGKILL of every service at seeded random moments (${ROUNDS} rounds), each restarted`, async () => {
    const random = mulberry32(SEED);
    const kills: Array<{ round: number; stage: Stage; activeJobs: number }> = [];
    const queueOf: Record<Stage, keyof Queues> = { fetcher: 'fetch', normalizer: 'normalize', aggregator: 'aggregate' };
    // Stretch the run so that every round finds work in flight: each page answers after 200 ms and
    // the fetcher takes one at a time (the clean run's tables depend on neither).
    publisher.setFault('*', { kind: 'slow', delayMs: 200 });
    await runScenario({ env: { FETCH_CONCURRENCY: '1' } }, async ({ queues, services }) => {
      for (let round = 1; round <= ROUNDS; round += 1) {
        // Each round kills every service once, in a seeded order, after a seeded delay.
        const order: Stage[] = [...STAGES];
        for (let i = order.length - 1; i > 0; i -= 1) {
          const j = Math.floor(random() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        for (const stage of order) {
          // A seeded moment just after this stage took a job (if it gets one within 5 s). Jobs last
          // from a few to tens of milliseconds: one that ended during the seeded wait is followed by
          // the next, and the kill lands at once, mid-job.
          const active = async () => (await queues[queueOf[stage]].getJobCounts('active')).active ?? 0;
          const busyBy = Date.now() + 5_000;
          const untilActive = async () => {
            while ((await active()) === 0 && Date.now() < busyBy) await sleep(5);
          };
          await untilActive();
          await sleep(Math.floor(random() * 40));
          await untilActive();
          const activeJobs = await active();
          await services.kill(stage);
          kills.push({ round, stage, activeJobs });
          await sleep(Math.floor(random() * 500));
          await services.start(stage);
        }
      }
      publisher.clearFaults();
    }).finally(() => publisher.clearFaults());
    console.log(`kills (seed ${SEED}): ${kills.map((k) => `${k.round}:${k.stage}${k.activeJobs ? `(${k.activeJobs} active)` : ''}`).join(' ')}`);
    expect(kills).toHaveLength(ROUNDS * STAGES.length);
    // The kills hit work in flight, not idle processes: at least three in four (a job can end in
    // the moment between the look at the queue and the kill), and every stage at least once.
    expect(kills.filter((k) => k.activeJobs > 0).length).toBeGreaterThanOrEqual(Math.ceil((kills.length * 3) / 4));
    for (const stage of STAGES) expect(kills.some((k) => k.stage === stage && k.activeJobs > 0), stage).toBe(true);
  }, 300_000);

  it('Redis killed mid-run and restarted from its append-only file: jobs wait, nothing is lost', async () => {
    const redis = await startOwnRedis();
    try {
      await runScenario({ redisUrl: redis.url, prefix: 'nst' }, async ({ db, queues }) => {
        // Mid-run: some documents archived, many still to come.
        await waitForArchived(db, 30);
        expect(await pendingJobs(queues)).toBeGreaterThan(0);
        await redis.stop('SIGKILL');
        await sleep(3_000);
        await redis.start();
      });
    } finally {
      await redis.destroy();
    }
  }, 300_000);

  it('PostgreSQL unreachable for 20 s mid-run (connections cut and refused): jobs wait and retry, nothing is lost', async () => {
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
    try {
      const scenario = await runScenario(
        {
          databaseUrl: async (db) => {
            const url = new URL(db.url);
            proxy = await startProxy(url.hostname, Number(url.port || 5432));
            url.hostname = '127.0.0.1';
            url.port = String(proxy.port);
            return url.toString();
          },
        },
        async ({ db }) => {
          await waitForArchived(db, 30);
          proxy!.cut();
          await sleep(20_000);
          proxy!.restore();
        },
      );
      // The outage was felt (and waited out), not missed.
      expect(scenario.services.lines().some((line) => line.msg === 'waiting for PostgreSQL')).toBe(true);
    } finally {
      await proxy?.close();
    }
  }, 300_000);
});

async function waitForArchived(db: TestDatabase, documents: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM raw.document');
    if (rows[0]!.n >= documents) return;
    await sleep(100);
  }
  throw new Error(`fewer than ${documents} documents archived within 60 s`);
}
