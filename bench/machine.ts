/**
 * What the figures of `pnpm bench` were taken on, and whether they had the machine to themselves.
 * This machine kind's speed has differed by half and more between days (docs/performance.md), so a
 * figure read without its machine is half a figure: the `machine` line (printed first) tells one
 * host and setup from another, and each service measure's `machineCpu` tells a run that shared the
 * cores (another program, the hypervisor) from one that had them.
 */
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '@nst/shared/db';
import { Redis } from 'ioredis';

/** Clock ticks a second in /proc (USER_HZ on Linux). */
export const CLOCK_TICKS = 100;

/** The machine's CPU time so far, over every core, from the first line of /proc/stat. */
export interface MachineCpu {
  /** Seconds spent running: user, nice, system, interrupts (guest time is inside user and nice; idle, iowait and steal are not). */
  busy: number;
  /** Seconds the hypervisor ran another guest while this one had work (`steal`). */
  steal: number;
}

/** Parse the aggregate `cpu` line of a /proc/stat text (in clock ticks) into seconds. */
export function parseMachineCpu(stat: string): MachineCpu {
  const line = stat.split('\n').find((row) => row.startsWith('cpu '));
  if (!line) throw new Error('no "cpu" line in /proc/stat');
  // user nice system idle iowait irq softirq steal guest guest_nice (the last ones absent on old kernels).
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return { busy: (user + nice + system + irq + softirq) / CLOCK_TICKS, steal: steal / CLOCK_TICKS };
}

/** {@link parseMachineCpu} of this machine's /proc/stat; null where there is none. */
export function readMachineCpu(): MachineCpu | null {
  try {
    return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return null;
  }
}

/** The first processor's identity in a /proc/cpuinfo text: what tells one host's CPU from another's. */
export interface CpuIdentity {
  /** `model name` ("AMD EPYC": a hypervisor may hide the rest). */
  model: string | null;
  /** `cpu family` and `model` numbers: the generation even when the name is generic (AMD family 25 is Zen 3 and 4, 26 is Zen 5). */
  family: number | null;
  modelNumber: number | null;
  /** `cpu MHz`, as the guest sees it. */
  mhz: number | null;
}

export function parseCpuInfo(text: string): CpuIdentity {
  const first = text.split(/\n\s*\n/)[0] ?? '';
  const field = (name: string) => {
    const line = first.split('\n').find((row) => row.split(':')[0]!.trim() === name);
    return line === undefined ? null : line.slice(line.indexOf(':') + 1).trim();
  };
  const number = (name: string) => {
    const value = Number.parseFloat(field(name) ?? '');
    return Number.isFinite(value) ? value : null;
  };
  return { model: field('model name'), family: number('cpu family'), modelNumber: number('model'), mhz: number('cpu MHz') };
}

/** The value of `field` in a Redis `INFO` text, or null. */
export function infoField(info: string, field: string): string | null {
  const line = info.split(/\r?\n/).find((row) => row.startsWith(`${field}:`));
  return line ? line.slice(field.length + 1).trim() : null;
}

/** How long the machine line waits for a server to connect, and then to answer. */
const SERVER_TIMEOUT_MS = 5_000;

async function postgresVersion(databaseUrl: string): Promise<string | null> {
  // The pool gives up connecting after 5 s itself; the race bounds a server that connects and then stalls.
  const pool = createPool(databaseUrl, { max: 1, applicationName: 'nst-bench' });
  const timeout = new AbortController();
  try {
    const answer = pool.query<{ server_version: string }>('SHOW server_version').then(({ rows }) => rows[0]?.server_version ?? null);
    return await Promise.race([answer, sleep(SERVER_TIMEOUT_MS, null, { signal: timeout.signal })]);
  } catch {
    return null;
  } finally {
    timeout.abort();
    // Not awaited: a server that stopped answering would not answer the goodbye either.
    pool.end().catch(() => undefined);
  }
}

async function redisVersion(redisUrl: string): Promise<string | null> {
  // No retries and no offline queue: unreachable is the answer "unknown", at once, not a reconnect loop.
  const redis = new Redis(redisUrl, { lazyConnect: true, connectionName: 'nst-bench', connectTimeout: SERVER_TIMEOUT_MS, commandTimeout: SERVER_TIMEOUT_MS,
    maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return infoField(await redis.info('server'), 'redis_version');
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/**
 * The `machine` line: cores, the CPU's name, generation and clock, memory, kernel, Node, and the
 * servers' versions (null: not asked, because no measure of the run uses them, or not reachable).
 */
export async function describeMachine(servers: { databaseUrl: string; redisUrl: string } | null): Promise<Record<string, unknown>> {
  const [postgres, redis] = servers ? await Promise.all([postgresVersion(servers.databaseUrl), redisVersion(servers.redisUrl)]) : [null, null];
  const cores = cpus();
  let cpu: CpuIdentity = { model: null, family: null, modelNumber: null, mhz: null };
  try {
    cpu = parseCpuInfo(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    // Not Linux: only the name os.cpus() gives.
  }
  return {
    measure: 'machine',
    cpus: cores.length,
    // An ARM guest's cpuinfo names no model: os.cpus() may.
    cpuModel: cpu.model ?? cores[0]?.model ?? null,
    cpuFamily: cpu.family,
    cpuModelNumber: cpu.modelNumber,
    cpuMhz: cpu.mhz,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    postgres,
    redis,
  };
}

/** What {@link machineShare} gives: the machine's CPU over a measure's window, in seconds to 0.1. */
export interface MachineShare {
  busySeconds: number;
  /** Busy time no measured process spent (another program, the kernel's own threads, interrupts); about ±0.1 s of noise, so it may read slightly below 0. */
  elsewhereSeconds: number;
  stealSeconds: number;
}

/** The machine's CPU between two readings of /proc/stat, beside `measuredSeconds`, the CPU the measured processes spent meanwhile (unrounded). */
export function machineShare(before: MachineCpu, after: MachineCpu, measuredSeconds: number): MachineShare {
  // `|| 0`: a difference that rounds to nothing reads 0, not -0.
  const tenth = (value: number) => Math.round(value * 10) / 10 || 0;
  const busy = after.busy - before.busy;
  return { busySeconds: tenth(busy), elsewhereSeconds: tenth(busy - measuredSeconds), stealSeconds: tenth(after.steal - before.steal) };
}
