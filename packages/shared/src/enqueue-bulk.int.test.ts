/**
 * `enqueueBulk` (what `nst reprocess` hands the normalizer its documents with): every job once,
 * in round trips that start small, so the workers get their first jobs without waiting for a
 * thousand to be built and sent. Real Redis.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeQueues, createQueues, enqueueBulk, jobId, type Queues } from './jobs';
import { createRedis } from './redis';
import { createTestRedis, type TestRedis } from './testing';

describe('enqueueBulk', () => {
  let redis: TestRedis;
  let connection: Redis;
  let queues: Queues;
  /** The size of each round trip to Redis the queue was asked for, in order. */
  let roundTrips: number[];

  beforeAll(async () => {
    redis = await createTestRedis();
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    queues = createQueues({ connection, prefix: redis.prefix });
    const addBulk = queues.normalize.addBulk.bind(queues.normalize);
    queues.normalize.addBulk = (jobs) => {
      roundTrips.push(jobs.length);
      return addBulk(jobs);
    };
  });
  afterEach(async () => {
    await queues.normalize.obliterate({ force: true });
  });
  afterAll(async () => {
    if (queues) await closeQueues(queues);
    connection?.disconnect();
    await redis?.cleanup();
  });

  const documents = (count: number) =>
    Array.from({ length: count }, (_, i) => ({ payload: { documentId: i + 1, reason: 'reprocess' as const }, options: { jobId: jobId('bulk', i + 1) } }));

  async function enqueuedIds(): Promise<number[]> {
    const jobs = await queues.normalize.getJobs(['waiting', 'prioritized']);
    return jobs.map((job) => (job.data as { documentId: number }).documentId).sort((a, b) => a - b);
  }

  it.each([
    [0, 1_000, []],
    [1, 1_000, [1]],
    [32, 1_000, [32]],
    [33, 1_000, [32, 1]],
    [100, 40, [32, 40, 28]],
    [3_000, 1_000, [32, 64, 128, 256, 512, 1_000, 1_000, 8]],
    [10, 4, [4, 4, 2]],
  ])('enqueues %i jobs once each, in round trips that double up to %i', async (count, chunk, expected) => {
    roundTrips = [];
    expect(await enqueueBulk(queues, 'normalize-document', documents(count), chunk)).toBe(count);
    expect(roundTrips).toEqual(expected);
    expect(await enqueuedIds()).toEqual(Array.from({ length: count }, (_, i) => i + 1));
  });

  it('does not enqueue a job whose id is already taken twice', async () => {
    roundTrips = [];
    await enqueueBulk(queues, 'normalize-document', documents(40));
    await enqueueBulk(queues, 'normalize-document', documents(50));
    expect(await enqueuedIds()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await queues.normalize.count()).toBe(50);
  });
});
