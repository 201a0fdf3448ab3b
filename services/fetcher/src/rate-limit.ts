/**
 * A per-host rate limit shared by every fetcher replica: each request reserves the next free slot
 * of its host in Redis (atomically, with the server's clock), then sleeps until that slot. Two
 * replicas therefore never hit one host closer together than its `minDelayMs`.
 */
import type { Redis } from 'ioredis';

// KEYS[1] = next-free-slot key; ARGV[1] = min delay (ms). Returns {ms to wait, the slot (ms epoch)}.
const RESERVE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local delay = tonumber(ARGV[1])
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, nextFree)
redis.call('SET', KEYS[1], slot + delay, 'PX', delay + 60000)
return {slot - now, slot}
`;

export interface HostRateLimiter {
  /** Wait for this host's next slot. Returns the milliseconds waited and the slot (Redis clock, ms). */
  acquire(host: string, minDelayMs: number): Promise<{ waitedMs: number; slotAt: number }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createHostRateLimiter(redis: Redis, prefix: string): HostRateLimiter {
  return {
    async acquire(host, minDelayMs) {
      if (minDelayMs <= 0) return { waitedMs: 0, slotAt: Date.now() };
      const [wait, slot] = (await redis.eval(RESERVE_SLOT, 1, `${prefix}:ratelimit:${host}`, String(minDelayMs))) as [number, number];
      if (wait > 0) await sleep(wait);
      return { waitedMs: wait, slotAt: slot };
    },
  };
}
