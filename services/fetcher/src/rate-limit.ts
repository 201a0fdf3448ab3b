/**
 * Politeness shared by every fetcher replica, kept in Redis on Redis's clock:
 *
 * - **A host's next request starts at least a delay after its last one ended** (or after the last
 *   one started, while requests overlap). The delay is the longer of the two requests' sources'
 *   `minDelayMs` (sources of one host may set different delays). A request first reserves its
 *   turn, a time of the host ({@link PolitenessGate.reserve}); at the turn it records its start
 *   ({@link PolitenessGate.start}), refused while the host is not ready, and its end when it
 *   releases its place. Turns spread the waiting requests out, a delay and the host's usual
 *   response time apart; the start is what guarantees the spacing: a request late for its turn
 *   delays the host's next start, never brings two requests closer together, and a job that
 *   cannot start near its turn takes a new one (fetch-source.ts, `takeTurn`). Counting
 *   from the end, not the start, makes the spacing hold at the server too, whatever a request takes
 *   to get there: the next request starts after this one's response came back.
 * - **At most `concurrency` requests of one source are in flight at once.** A started request holds
 *   a lease until it is released; a lease also expires by itself after `leaseMs` (the request's
 *   timeout and a margin), so a replica killed mid-request does not hold its place for ever.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** How long a host's state outlives its last use. */
const HOST_STATE_TTL_MS = 86_400_000;

/** The Redis key of a host's state (with no host: the prefix every host's key starts with). */
const hostKey = (prefix: string, host = '') => `${prefix}:politeness:${host}`;

// The clock of every script: Redis's, in ms. A host's state (a hash): `next` the time its next
// request may start, `last` its last request's start or end, `rt:<source>` a source's usual
// response time there (a moving average), `tslot` and `tdelay` the last turn given out and its
// source's delay.
// `keep`: the host's state outlives its last use by HOST_STATE_TTL_MS (or its furthest turn, longer).
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function num(v) return tonumber(v) or 0 end
local function keep(key) if redis.call('PTTL', key) < ${HOST_STATE_TTL_MS} then redis.call('PEXPIRE', key, ${HOST_STATE_TTL_MS}) end end
`;

// KEYS[1] = the host; ARGV = min delay (ms), the source's concurrency, the source.
// Returns {ms to the turn, the turn (ms epoch)}. A turn comes when the host would be ready for this
// source's request: one of its responses and the longer of the two delays after the turn before
// (a share of a response, when the source's requests may overlap).
const RESERVE = `${NOW}
local delay = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'tslot', 'tdelay', 'next', 'last', 'rt:' .. ARGV[3])
local slot = math.max(now, num(h[3]), num(h[4]) + delay)
if h[1] then slot = math.max(slot, tonumber(h[1]) + math.max(num(h[2]), delay) + math.floor(num(h[5]) / tonumber(ARGV[2]))) end
redis.call('HSET', KEYS[1], 'tslot', slot, 'tdelay', delay)
redis.call('PEXPIRE', KEYS[1], slot - now + ${HOST_STATE_TTL_MS})
return {slot - now, slot}
`;

// KEYS[1] = the host, KEYS[2] = the source's leases (member → expiry);
// ARGV = min delay, concurrency, lease member, lease ms, the caller's turn (0: none), how early it may start.
// Returns {0, now} when started (lease taken); {1, ms, ready} when the host is not ready (its last
// request too recent) until `ready`; {2, ms to the first lease's expiry} when the source has no
// free place; {3, ms to the turn} when the caller's turn is further away than it may start early.
const START = `${NOW}
local delay = tonumber(ARGV[1])
local turn = tonumber(ARGV[5])
if turn > now + tonumber(ARGV[6]) then return {3, turn - now} end
local h = redis.call('HMGET', KEYS[1], 'next', 'last')
local ready = math.max(num(h[1]), num(h[2]) + delay)
if now < ready then return {1, ready - now, ready} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, tonumber(first[2]) - now}
end
local leaseMs = tonumber(ARGV[4])
redis.call('ZADD', KEYS[2], now + leaseMs, ARGV[3])
redis.call('PEXPIRE', KEYS[2], leaseMs + 60000)
redis.call('HSET', KEYS[1], 'last', now, 'next', math.max(num(h[1]), now + delay))
keep(KEYS[1])
return {0, now}
`;

// KEYS[1] = the host, KEYS[2] = the source's leases; ARGV = min delay, lease member, the start,
// 1 if a response came back (0: an error), the source. The request has ended: the host's next request waits a
// delay from now, and the place is free. A response's time joins the host's moving average, at
// most twice the average and a delay (the first: two delays), so that one slow response moves the
// turns a little, not by a timeout.
const END = `${NOW}
redis.call('ZREM', KEYS[2], ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'next', 'last', 'rt:' .. ARGV[5])
local delay = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'last', math.max(num(h[2]), now), 'next', math.max(num(h[1]), now + delay))
if ARGV[4] == '1' then
  local took = math.max(0, now - tonumber(ARGV[3]))
  local rt = math.min(took, 2 * delay)
  if h[3] then rt = 0.8 * tonumber(h[3]) + 0.2 * math.min(took, 2 * tonumber(h[3]) + delay) end
  redis.call('HSET', KEYS[1], 'rt:' .. ARGV[5], math.floor(rt))
end
keep(KEYS[1])
return now
`;

// KEYS[1] = the host; ARGV = min delay. A request made outside the turns (a robots.txt fetched
// before any delay was known) has ended: the host's next request waits a delay from now.
const NOTE = `${NOW}
local h = redis.call('HMGET', KEYS[1], 'next', 'last')
redis.call('HSET', KEYS[1], 'last', math.max(num(h[2]), now), 'next', math.max(num(h[1]), now + tonumber(ARGV[1])))
keep(KEYS[1])
return now
`;

/**
 * The scripts as commands of the client (ioredis's defineCommand): a call sends the script's SHA1
 * (EVALSHA), and the script itself only on a connection's first call or when Redis lost it.
 */
const SCRIPTS = {
  nstGateReserve: { numberOfKeys: 1, lua: RESERVE },
  nstGateStart: { numberOfKeys: 2, lua: START },
  nstGateEnd: { numberOfKeys: 2, lua: END },
  nstGateNote: { numberOfKeys: 1, lua: NOTE },
} as const;

type GateCommands = { [name in keyof typeof SCRIPTS]: (...keysAndArgs: string[]) => Promise<unknown> };

function withGateCommands(redis: Redis): Redis & GateCommands {
  for (const [name, spec] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, spec);
  }
  return redis as Redis & GateCommands;
}

/** A started request's place among its source's requests in flight. */
export interface Lease {
  /**
   * The request has ended: give the place back. `responded`: a response came back (its time joins
   * the host's average), not an error. Safe to call twice.
   */
  release(responded?: boolean): Promise<void>;
}

export type StartResult =
  | { started: true; at: number; lease: Lease }
  /**
   * `host`: the host's last request started or ended less than a delay ago (it is ready at
   * `readyAt`, Redis clock); `source`: no free place; `turn`: the caller's turn is further away
   * than it may start early.
   */
  | { started: false; busy: 'host' | 'source' | 'turn'; waitMs: number; readyAt?: number };

/** A request about to start: its host and source, and the source's politeness. */
export interface StartRequest {
  host: string;
  minDelayMs: number;
  source: string;
  concurrency: number;
  /** How long its place is held if it is never released. */
  leaseMs: number;
  /**
   * The turn the caller reserved (Redis clock, ms), if any, and how much earlier it may start (a
   * host ready before the turn: its last responses came back sooner than usual); default 0.
   * Turns only spread the waiting requests out: the spacing is the host's readiness.
   */
  turnAt?: number;
  earlyMs?: number;
}

export interface PolitenessGate {
  /** Reserve the host's next turn for a source's request. Returns its time (Redis clock, ms) and the milliseconds to it. */
  reserve(host: string, minDelayMs: number, source: string, concurrency?: number): Promise<{ waitMs: number; slotAt: number }>;
  /** Start a request now, if its turn has come, the host is ready and the source has a free place. */
  start(request: StartRequest): Promise<StartResult>;
  /**
   * A request to the host made outside the turns has just ended (a robots.txt asked for before the
   * host's delay was known): its next request waits `minDelayMs` from now.
   */
  noteRequest(host: string, minDelayMs: number): Promise<void>;
}

const CODES = { 1: 'host', 2: 'source', 3: 'turn' } as const;

/** A host's politeness state, as `nst status` shows it (Redis's clock, ms epoch). */
export interface HostState {
  host: string;
  /** Redis's clock when it was read. */
  now: number;
  /** The last turn given out (the backlog's last job runs then), and the delay it was given with; null when none. */
  lastTurnAt: number | null;
  delayMs: number | null;
  /** When its last request started or ended; null when none. */
  lastRequestAt: number | null;
}

/** Every host with a politeness state in Redis (one a request or a turn touched in the last day), by name. */
export async function readHostStates(redis: Redis, prefix: string): Promise<HostState[]> {
  const pattern = hostKey(prefix);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${pattern}*`, 'COUNT', 500);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  const [seconds, micros] = await redis.time();
  const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const value = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
  // Two round trips in all (each a pipeline): the keys' types, then the hosts' hashes.
  const sorted = [...new Set(keys)].sort();
  const types = await pipelined(redis, sorted.map((key) => ['type', key]));
  // Another deployment's key may match too (a prefix of `nst:politeness`): hosts' hashes only.
  const hashes = sorted.filter((_, i) => types[i] === 'hash');
  const fields = await pipelined(redis, hashes.map((key) => ['hmget', key, 'tslot', 'tdelay', 'last']), { wrongType: null }) as Array<[string | null, string | null, string | null] | null>;
  return hashes.flatMap((key, i): HostState[] => {
    const [tslot, tdelay, last] = fields[i] ?? [null, null, null];
    if (tslot === null && last === null) return [];
    return [{ host: key.slice(pattern.length), now, lastTurnAt: value(tslot), delayMs: value(tdelay), lastRequestAt: value(last) }];
  });
}

/**
 * The replies of `commands`, sent as one pipeline. A command's error is thrown (the connection
 * lost, say), but for a key of another type than the command's (WRONGTYPE: it changed meanwhile)
 * when `wrongType` says what it replies instead.
 */
async function pipelined(redis: Redis, commands: string[][], options: { wrongType?: null } = {}): Promise<unknown[]> {
  if (commands.length === 0) return [];
  const replies = (await redis.pipeline(commands).exec()) ?? [];
  return replies.map(([error, reply]) => {
    if (!error) return reply;
    if ('wrongType' in options && error.message.startsWith('WRONGTYPE')) return options.wrongType;
    throw error;
  });
}

export function createPolitenessGate(connection: Redis, prefix: string): PolitenessGate {
  const redis = withGateCommands(connection);
  return {
    async reserve(host, minDelayMs, source, concurrency = 1) {
      const [waitMs, slotAt] = (await redis.nstGateReserve(hostKey(prefix, host), String(minDelayMs), String(Math.max(1, concurrency)), source)) as [number, number];
      return { waitMs, slotAt };
    },
    async start({ host, minDelayMs, source, concurrency, leaseMs, turnAt, earlyMs }) {
      const leases = `${prefix}:inflight:${source}`;
      const member = randomUUID();
      const [state, value, readyAt] = (await redis.nstGateStart(hostKey(prefix, host), leases, String(minDelayMs), String(concurrency), member, String(leaseMs), String(turnAt ?? 0), String(earlyMs ?? 0))) as [0 | 1 | 2 | 3, number, number?];
      if (state !== 0) return { started: false, busy: CODES[state], waitMs: Math.max(0, value), ...(readyAt !== undefined ? { readyAt } : {}) };
      let released = false;
      return {
        started: true,
        at: value,
        lease: {
          async release(responded = true) {
            if (released) return;
            released = true;
            await redis.nstGateEnd(hostKey(prefix, host), leases, String(minDelayMs), member, String(value), responded ? '1' : '0', source);
          },
        },
      };
    },
    async noteRequest(host, minDelayMs) {
      await redis.nstGateNote(hostKey(prefix, host), String(minDelayMs));
    },
  };
}
