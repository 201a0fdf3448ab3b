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
    const slots = (await Promise.all([0, 1, 2, 3, 4, 5].map((i) => replicas[i % 2]!.acquire('tjj.sh.gov.cn', 200)))).map((r) => r.slotAt);
    slots.sort((x, y) => x - y);
    // Slots are reserved on Redis's clock, so the spacing is exact whatever the load on this machine.
    for (let i = 1; i < slots.length; i += 1) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(200);
  });

  it('keeps hosts independent', async () => {
    const limiter = createHostRateLimiter(a, redis.prefix);
    await limiter.acquire('www.jinshan.gov.cn', 5_000);
    expect((await limiter.acquire('xxgk.shbsq.gov.cn', 5_000)).waitedMs).toBe(0);
  });
});
