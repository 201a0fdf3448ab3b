import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis } from '@nst/shared/redis';
import { createTestRedis, type TestRedis } from '@nst/shared/testing';
import { createHostRateLimiter } from './rate-limit';

describe('per-host rate limit shared by replicas', () => {
  let redis: TestRedis;
  let a: Redis;
  let b: Redis;
  beforeAll(async () => {
    redis = await createTestRedis();
    a = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    b = createRedis(redis.url, { role: 'worker', name: redis.prefix });
  });
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await redis.cleanup();
  });

  it('gives two replicas requesting one host slots at least minDelay apart', async () => {
    // Two replicas = two connections and two limiters over the same Redis keys.
    const replicas = [createHostRateLimiter(a, redis.prefix), createHostRateLimiter(b, redis.prefix)];
    const waits = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => replicas[i % 2]!.acquire('tjj.sh.gov.cn', 200)));
    waits.sort((x, y) => x - y);
    expect(waits[0]).toBeLessThan(50);
    for (let i = 1; i < waits.length; i += 1) expect(waits[i]! - waits[i - 1]!).toBeGreaterThanOrEqual(190);
  });

  it('keeps hosts independent', async () => {
    const limiter = createHostRateLimiter(a, redis.prefix);
    await limiter.acquire('www.jinshan.gov.cn', 5_000);
    expect(await limiter.acquire('xxgk.shbsq.gov.cn', 5_000)).toBeLessThan(50);
  });
});
