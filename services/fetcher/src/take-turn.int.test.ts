/**
 * How long a fetch job may hold its worker place for politeness (`takeTurn`), against the real
 * gate in Redis: never longer than it may wait in place, whatever the host or the source is doing;
 * anything longer sends the job back to the queue with the turn it holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import type { FetchJob } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { Politeness, type Source } from '@nst/shared/seeds';
import { createTestRedis, type TestRedis } from '@nst/shared/testing';
import { DeferJob } from '@nst/shared/worker';
import { takeTurn } from './jobs/fetch-source';
import { createPolitenessGate, type PolitenessGate } from './rate-limit';

const IN_PLACE_MS = 200;

describe('a fetch job waiting for politeness', () => {
  let redis: TestRedis;
  let connection: Redis;
  let gate: PolitenessGate;
  let deps: Parameters<typeof takeTurn>[4];
  beforeAll(async () => {
    redis = await createTestRedis();
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    gate = createPolitenessGate(connection, redis.prefix);
    deps = { politeness: 'registry', politenessGate: gate, maxPoliteWaitMs: IN_PLACE_MS, logger: createLogger({ service: 'take-turn.int.test', level: 'silent' }) };
  });
  afterAll(async () => {
    connection.disconnect();
    await redis.cleanup();
  });

  let hosts = 0;
  /** A source of a host of its own, with a 2 s delay, and a document job of it. */
  function fixture(politeness: Partial<Politeness> = {}) {
    hosts += 1;
    const host = `h${hosts}.turn.test`;
    const source = { key: `turn-${hosts}`, politeness: Politeness.parse({ minDelayMs: 2_000, ...politeness }) } as Source;
    const url = `https://${host}/a.html`;
    const payload: FetchJob = { sourceKey: source.key, url, role: 'document' };
    return { host, source, url, payload };
  }
  /** takeTurn's outcome, and how long it held the place. */
  async function run(job: { data: FetchJob; attemptsMade: number }, f: ReturnType<typeof fixture>) {
    const started = performance.now();
    try {
      const lease = await takeTurn(job, job.data, f.source, f.url, deps);
      await lease?.release();
      return { heldMs: performance.now() - started, started: true as const };
    } catch (error) {
      if (!(error instanceof DeferJob)) throw error;
      return { heldMs: performance.now() - started, deferred: error };
    }
  }

  it('starts at once on an idle host, and defers the next job to its turn, a delay later, holding the place for no time', async () => {
    const f = fixture();
    expect(await run({ data: f.payload, attemptsMade: 0 }, f)).toMatchObject({ started: true });
    const next = await run({ data: f.payload, attemptsMade: 0 }, f);
    expect(next.deferred).toBeDefined();
    expect(next.heldMs).toBeLessThan(IN_PLACE_MS);
    // Back shortly before its turn (half of what it may wait in place), with the turn in its data.
    expect(next.deferred!.untilMs - Date.now()).toBeGreaterThan(1_000);
    expect(next.deferred!.data).toMatchObject({ ...f.payload, turnAttempt: 0 });
    expect(typeof next.deferred!.data!.turnAt).toBe('number');
  });

  it('gives a job back at its turn a new turn when the host is busy for longer than it may wait in place', async () => {
    const f = fixture();
    const turn = await gate.reserve(f.host, 2_000, f.source.key);
    // Another request started just now and will keep the host busy for 2 s after it ends.
    const other = await gate.start({ host: f.host, minDelayMs: 2_000, source: 'another', concurrency: 1, leaseMs: 10_000 });
    if (other.started) await other.lease.release();
    const job = { data: { ...f.payload, turnAt: turn.slotAt, turnAttempt: 0 }, attemptsMade: 0 };
    const back = await run(job, f);
    expect(back.heldMs).toBeLessThan(IN_PLACE_MS);
    // Its turn was spent; the new one is when the host is ready, about 2 s from now.
    expect(back.deferred!.data).toMatchObject({ turnAttempt: 0 });
    expect(back.deferred!.data!.turnAt).toBeGreaterThan(turn.slotAt + 1_000);
    expect(back.deferred!.untilMs - Date.now()).toBeGreaterThan(1_000);
  });

  it('keeps the turn of a job that finds the host ready soon after it, and comes back then', async () => {
    const f = fixture({ minDelayMs: 300 });
    // Another source's request on the host just ended: the host is ready in 300 ms.
    const other = await gate.start({ host: f.host, minDelayMs: 300, source: 'another', concurrency: 1, leaseMs: 10_000 });
    if (!other.started) throw new Error('the host was not idle');
    await other.lease.release();
    // The job's turn is 150 ms away; the host, ready 150 ms after it, is within a wait in place of it.
    const turnAt = other.at + 150;
    const back = await run({ data: { ...f.payload, turnAt, turnAttempt: 0 }, attemptsMade: 0 }, f);
    expect(back.heldMs).toBeLessThan(IN_PLACE_MS);
    expect(back.deferred!.data).toMatchObject({ turnAt, turnAttempt: 0 });
  });

  it('sends a job back far before its turn (promoted by hand) to its turn again, keeping it', async () => {
    const f = fixture();
    await gate.reserve(f.host, 2_000, f.source.key);
    const turn = await gate.reserve(f.host, 2_000, f.source.key);
    const job = { data: { ...f.payload, turnAt: turn.slotAt, turnAttempt: 0 }, attemptsMade: 0 };
    const early = await run(job, f);
    expect(early.heldMs).toBeLessThan(IN_PLACE_MS);
    expect(early.deferred!.data).toMatchObject({ turnAt: turn.slotAt, turnAttempt: 0 });
  });

  it("defers a job whose source's places stay taken for longer than it may wait in place", async () => {
    const f = fixture({ minDelayMs: 50, concurrency: 1 });
    const first = await gate.start({ host: `other.${f.host}`, minDelayMs: 50, source: f.source.key, concurrency: 1, leaseMs: 10_000 });
    expect(first.started).toBe(true);
    const job = { data: f.payload, attemptsMade: 0 };
    const waiting = await run(job, f);
    // It asked again for as long as it may wait in place (50 ms here: one delay), then went back.
    expect(waiting.deferred).toBeDefined();
    expect(waiting.heldMs).toBeLessThan(50 + IN_PLACE_MS);
    if (first.started) await first.lease.release();
    expect(await run({ data: waiting.deferred!.data as FetchJob, attemptsMade: 0 }, f)).toMatchObject({ started: true });
  });

  it('lets a retry after a failure queue for a turn of its own, not the one its failed attempt held', async () => {
    const f = fixture();
    expect(await run({ data: f.payload, attemptsMade: 0 }, f)).toMatchObject({ started: true });
    const held = await gate.reserve(f.host, 2_000, f.source.key);
    // Attempt 1 failed after taking turn `held`; the retry (attemptsMade 1) reserves anew, behind it.
    const retry = await run({ data: { ...f.payload, turnAt: held.slotAt, turnAttempt: 0 }, attemptsMade: 1 }, f);
    expect(retry.deferred!.data).toMatchObject({ turnAttempt: 1 });
    expect(retry.deferred!.data!.turnAt).toBeGreaterThan(held.slotAt);
  });

  it('holds no place at all when politeness is off', async () => {
    const f = fixture({ minDelayMs: 0 });
    for (let i = 0; i < 3; i += 1) expect(await run({ data: f.payload, attemptsMade: 0 }, f)).toMatchObject({ started: true });
    expect(await connection.exists(`${redis.prefix}:politeness:${f.host}`)).toBe(0);
  });
});
