/**
 * Politeness shared by every fetcher replica, kept in Redis on Redis's clock:
 *
 * - **A host's requests start at least `minDelayMs` after the last one ended** (or after the last
 *   one started, while requests overlap). A request first reserves its turn, the host's next free
 *   slot ({@link PolitenessGate.reserve}); when the turn comes it records its start
 *   ({@link PolitenessGate.start}), which is refused while the host's last request is less than
 *   `minDelayMs` old, and its end when it releases its place. Turns spread the waiting requests
 *   out; the start is what guarantees the spacing, so a request that comes to its turn late pushes
 *   the next ones back and never brings two requests closer together. Counting from the end, not
 *   the start, makes the spacing hold at the server too, whatever a request takes to get there: the
 *   next request starts after this one's response came back.
 * - **At most `concurrency` requests of one source are in flight at once.** A started request holds
 *   a lease until it is released; a lease also expires by itself after `leaseMs` (the request's
 *   timeout and a margin), so a replica killed mid-request does not hold its place for ever.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// The clock of every script: Redis's, in ms.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS[1] = the host's next free slot; ARGV[1] = min delay (ms). Returns {ms to the turn, the turn (ms epoch)}.
const RESERVE = `${NOW}
local delay = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], slot + delay, 'PX', slot - now + delay + 60000)
return {slot - now, slot}
`;

// KEYS[1] = the host's last request (its start, then its end), KEYS[2] = the source's leases (member → expiry);
// ARGV = min delay, concurrency, lease member, lease ms.
// Returns {0, now} when started (lease taken), {1, ms} when the host's last request is too recent,
// {2, ms to the first lease's expiry} when the source has no free place.
const START = `${NOW}
local delay = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < last + delay then return {1, last + delay - now} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, tonumber(first[2]) - now}
end
local leaseMs = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now + leaseMs, ARGV[3])
redis.call('PEXPIRE', KEYS[2], leaseMs + 60000)
redis.call('SET', KEYS[1], now, 'PX', delay + 60000)
return {0, now}
`;

// KEYS[1] = the host's last request, KEYS[2] = the source's leases; ARGV = min delay, lease member.
// The request has ended: the host's next request counts its delay from now, and the place is free.
const END = `${NOW}
redis.call('ZREM', KEYS[2], ARGV[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if now > last then redis.call('SET', KEYS[1], now, 'PX', tonumber(ARGV[1]) + 60000) end
return now
`;

/** A started request's place among its source's requests in flight. */
export interface Lease {
  /** The request has ended (its response read, or its error): give the place back. Safe to call twice. */
  release(): Promise<void>;
}

export type StartResult =
  | { started: true; at: number; lease: Lease }
  /** `host`: the host's last request started or ended less than minDelayMs ago; `source`: no free place. */
  | { started: false; busy: 'host' | 'source'; waitMs: number };

export interface PolitenessGate {
  /** Reserve the host's next turn. Returns its time (Redis clock, ms) and the milliseconds to it. */
  reserve(host: string, minDelayMs: number): Promise<{ waitMs: number; slotAt: number }>;
  /** Start a request now, if the host's last request is minDelayMs old and the source has a free place. */
  start(request: { host: string; minDelayMs: number; source: string; concurrency: number; leaseMs: number }): Promise<StartResult>;
}

export function createPolitenessGate(redis: Redis, prefix: string): PolitenessGate {
  return {
    async reserve(host, minDelayMs) {
      const [waitMs, slotAt] = (await redis.eval(RESERVE, 1, `${prefix}:ratelimit:${host}`, String(minDelayMs))) as [number, number];
      return { waitMs, slotAt };
    },
    async start({ host, minDelayMs, source, concurrency, leaseMs }) {
      const leases = `${prefix}:inflight:${source}`;
      const last = `${prefix}:lastrequest:${host}`;
      const member = randomUUID();
      const [state, value] = (await redis.eval(START, 2, last, leases, String(minDelayMs), String(concurrency), member, String(leaseMs))) as [number, number];
      if (state === 1) return { started: false, busy: 'host', waitMs: value };
      if (state === 2) return { started: false, busy: 'source', waitMs: Math.max(0, value) };
      let released = false;
      return {
        started: true,
        at: value,
        lease: {
          async release() {
            if (released) return;
            released = true;
            await redis.eval(END, 2, last, leases, String(minDelayMs), member);
          },
        },
      };
    },
  };
}
