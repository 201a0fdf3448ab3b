/**
 * What every measure of `pnpm bench` shares: a fresh database and Redis prefix per run, the three
 * services as real processes (with their peak RSS read from /proc), a wait-until-drained loop, and
 * the one-JSON-line report. Benchmarks print figures; they never assert timings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createPool, type Pool } from '@nst/shared/db';
import { closeQueues, createQueues, QUEUE_NAMES, type QueueName, type Queues } from '@nst/shared/jobs';
import { migrate } from '@nst/shared/migrate';
import { createRedis, waitForRedis } from '@nst/shared/redis';
import { applySeeds, loadSeeds, type Source } from '@nst/shared/seeds';
import type { Redis } from 'ioredis';
import { bundleArgs, bundleEnv, ROOT } from '../scripts/bundles';
import { CLOCK_TICKS, machineShare, readMachineCpu, type MachineShare } from './machine';

export { ROOT };
/** Profiles and logs of a run land here (ignored by git and eslint). */
export const OUT_DIR = `${ROOT}bench-out`;

export interface BenchConfig {
  databaseUrl: string;
  redisUrl: string;
  /** Start every service with `--cpu-prof` (profiles in bench-out/profiles/<stage>/). */
  profile: boolean;
  /** Keep the pipeline's database for a look afterwards (its name is printed); default false. */
  keep?: boolean;
}

/** Print one measure as one JSON line on stdout (progress goes to stderr). */
export function report(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function note(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Cleanups still due (databases, prefixes, service processes), run on SIGINT/SIGTERM too. */
const cleanups = new Set<() => Promise<void>>();

/** Register `cleanup` to run if the bench is interrupted; returns `cleanup`, unregistering itself once run. */
export function whenInterrupted(cleanup: () => Promise<void>): () => Promise<void> {
  const once = async () => {
    if (!cleanups.delete(once)) return;
    await cleanup();
  };
  cleanups.add(once);
  return once;
}

export async function runPendingCleanups(): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) await cleanup().catch((error: unknown) => note(`cleanup failed: ${(error as Error).message}`));
}

export const round = (value: number, places = 1) => Math.round(value * 10 ** places) / 10 ** places;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ─── database and Redis ─────────────────────────────────────────────────────────────────────────

export interface BenchDatabase {
  name: string;
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh `nst_bench_<random>` database, migrated and seeded, plus `extraSources` in raw.source. */
export async function createBenchDatabase(config: BenchConfig, extraSources: readonly Source[] = []): Promise<BenchDatabase> {
  const name = `nst_bench_${randomBytes(5).toString('hex')}`;
  const admin = createPool(config.databaseUrl, { max: 1, applicationName: 'nst-bench-admin' });
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(config.databaseUrl);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 4, applicationName: 'nst-bench' });
  await migrate(pool);
  const seeds = await loadSeeds();
  await applySeeds(pool, { ...seeds, sources: [...seeds.sources, ...extraSources] });
  const drop = whenInterrupted(async () => {
    await pool.end();
    const adminPool = createPool(config.databaseUrl, { max: 1, applicationName: 'nst-bench-admin' });
    try {
      await adminPool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await adminPool.end();
    }
  });
  return { name, url: url.toString(), pool, drop };
}

export interface BenchRedis {
  prefix: string;
  redis: Redis;
  queues: Queues;
  /** Close the queues and delete every key under the prefix. */
  cleanup(): Promise<void>;
}

export async function createBenchRedis(config: BenchConfig): Promise<BenchRedis> {
  const prefix = `nstbench-${randomBytes(5).toString('hex')}`;
  const redis = createRedis(config.redisUrl, { name: `${prefix}-bench` });
  await waitForRedis(redis);
  const queues = createQueues({ connection: redis, prefix });
  const cleanup = whenInterrupted(async () => {
    await closeQueues(queues);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
  });
  return { prefix, redis, queues, cleanup };
}

/** Jobs of a queue not yet done: waiting, prioritized, delayed or active. */
export const pendingJobs = (c: { [state: string]: number }) => (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c.active ?? 0);

/**
 * Wait until no queue has a waiting, active, delayed or prioritized job (two idle polls in a row:
 * a finishing job may enqueue the next one in between). Returns when the first idle poll was seen.
 */
export async function waitForDrain(
  queues: Queues,
  options: { timeoutMs: number; pollMs?: number; label: string; onPoll?: (counts: Record<QueueName, { [state: string]: number }>, at: number) => void },
): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  let idleSince: number | undefined;
  let lastPrinted = Date.now();
  while (Date.now() < deadline) {
    const polled = performance.now();
    let busy = 0;
    const parts: string[] = [];
    const all = {} as Record<QueueName, { [state: string]: number }>;
    for (const name of QUEUE_NAMES) {
      const c = await queues[name].getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed');
      all[name] = c;
      busy += pendingJobs(c);
      parts.push(`${name} ${c.completed ?? 0}/${pendingJobs(c)}${c.failed ? ` failed ${c.failed}` : ''}`);
    }
    options.onPoll?.(all, polled);
    if (Date.now() - lastPrinted > 5_000) {
      note(`${options.label}: ${parts.join(' · ')}`);
      lastPrinted = Date.now();
    }
    if (busy === 0) {
      if (idleSince !== undefined) return idleSince;
      idleSince = polled;
    } else {
      idleSince = undefined;
    }
    await sleep(options.pollMs ?? 50);
  }
  throw new Error(`${options.label}: queues not drained within ${Math.round(options.timeoutMs / 1000)} s`);
}

// ─── services as processes ──────────────────────────────────────────────────────────────────────

export type Stage = 'fetcher' | 'normalizer' | 'aggregator';

export interface ServiceProcess {
  stage: Stage;
  child: ChildProcess;
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number;
  /** CPU seconds used so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/**
 * CPU seconds (user + system) a live process has used so far, from /proc/<pid>/stat; 0 once it is
 * gone. A thread of this process: `self/task/<tid>`.
 */
export function readCpuSeconds(pid: number | `self/task/${string}`, options: { reapedChildren?: boolean } = {}): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const children = options.reapedChildren ? Number(fields[13]) + Number(fields[14]) : 0;
    return (Number(fields[11]) + Number(fields[12]) + children) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds used so far by every process whose command is `name` (postgres, redis-server): the
 * live ones, and the exited children they reaped (a PostgreSQL backend's CPU moves to the postmaster
 * when its connection closes; without it a delta across closed connections comes out negative).
 */
export function readCpuSecondsByName(name: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) total += readCpuSeconds(Number(entry), { reapedChildren: true });
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** What {@link trackBackendCpu} hands back when stopped. */
interface BackendCpuTracker {
  /** Stop polling; CPU seconds each `application_name` spent in the tracked window. */
  stop(): Promise<Record<string, number>>;
}

/**
 * PostgreSQL's CPU by the service whose connections spent it: polls pg_stat_activity for this
 * database's backends and reads each one's CPU from /proc, by its `application_name` (the services
 * connect as `nst-<stage>`), from the first poll (awaited here) until `stop`. A backend that
 * closes between two polls loses what it spent since the last; the services' pools keep theirs
 * open through a run, so the split is nearly whole. What no tracked backend spent (the WAL writer,
 * the checkpointer, connections that came and went) is the rest of the `postgres` figure.
 */
async function trackBackendCpu(pool: Pool, pollMs = 200): Promise<BackendCpuTracker> {
  const backends = new Map<number, { app: string; first: number; last: number }>();
  let first = true;
  const poll = async () => {
    // Prepared: planning the view took PostgreSQL about 1.3 ms a poll, a quarter of a second a run.
    const { rows } = await pool.query<{ pid: number; app: string }>({
      name: 'bench-backends',
      text: "SELECT pid, application_name AS app FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
    });
    for (const { pid, app } of rows) {
      const cpu = readCpuSeconds(pid);
      if (cpu === 0) continue; // gone meanwhile (or not one of this machine's processes)
      const known = backends.get(pid);
      if (known) known.last = cpu;
      // A backend there at the start counts from there; one opened later, from its birth.
      else backends.set(pid, { app: app || '(unnamed)', first: first ? cpu : 0, last: cpu });
    }
    first = false;
  };
  await poll();
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(poll).catch((error: unknown) => note(`backend CPU poll failed: ${(error as Error).message}`));
  }, pollMs);
  return {
    async stop() {
      clearInterval(timer);
      await polling;
      await poll();
      const byApp: Record<string, number> = {};
      for (const { app, first: from, last } of backends.values()) byApp[app] = (byApp[app] ?? 0) + last - from;
      return Object.fromEntries(Object.entries(byApp).map(([app, seconds]) => [app, round(seconds, 1)]));
    },
  };
}

/**
 * `cpuSeconds.postgres` split by service, from a {@link trackBackendCpu} window: the services'
 * backends by stage, the harness's own (`bench`), and `rest`, what none of them spent: never below
 * zero, since each figure is rounded and the total and the backends are read at slightly different
 * moments (a run whose backends spent it all read -0.1).
 */
function postgresByService(total: number, byApp: Record<string, number>): Record<string, number> {
  const split: Record<string, number> = {};
  for (const [app, seconds] of Object.entries(byApp)) {
    const name = app.replace(/^nst-/, '');
    split[name] = round((split[name] ?? 0) + seconds, 1);
  }
  const named = Object.values(split).reduce((sum, seconds) => sum + seconds, 0);
  return { ...split, rest: Math.max(0, round(total - named, 1)) };
}

/** Peak RSS of a live process from /proc/<pid>/status (VmHWM, kB). */
export function readPeakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
  return round(kb / 1024, 1);
}

/**
 * The services' tuning variables set where `pnpm bench` runs (`NORMALIZE_PARSE_THREADS=2 pnpm
 * bench …`), and glibc's malloc settings (`MALLOC_ARENA_MAX=4`, over the bundle's own): passed
 * on, so a setting can be measured without editing a default.
 */
function tuning(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => /^(?:FETCH|NORMALIZE|AGGREGATE|MALLOC)_/.test(entry[0]) && entry[1] !== undefined));
}

/**
 * Start the stage's bundle (`services/<stage>/dist/main.mjs`, built by `pnpm build` when the
 * bench starts) as its own process, as the Dockerfile runs it, with the services' default
 * concurrency, and resolve once it logged "<stage> started".
 */
export async function startStage(stage: Stage, env: Record<string, string>, config: BenchConfig): Promise<ServiceProcess> {
  const args: string[] = [];
  if (config.profile) {
    // One folder per stage: Node writes a profile per thread (the main one, the normalizer's parse thread).
    mkdirSync(`${OUT_DIR}/profiles/${stage}`, { recursive: true });
    args.push('--cpu-prof', `--cpu-prof-dir=${OUT_DIR}/profiles/${stage}`);
  }
  // Node flags to measure before making them a default: BENCH_NODE_ARGS for every service
  // (`BENCH_NODE_ARGS='--single-threaded-gc' pnpm bench …`), then BENCH_NODE_ARGS_<STAGE> for one
  // (`BENCH_NODE_ARGS_FETCHER='--max-semi-space-size=16'`); the last of a V8 flag wins.
  const flags = `${process.env.BENCH_NODE_ARGS ?? ''} ${process.env[`BENCH_NODE_ARGS_${stage.toUpperCase()}`] ?? ''}`;
  const entry = `services/${stage}/src/main.ts`;
  args.push(...bundleArgs(entry, flags.split(/\s+/).filter(Boolean)));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    // BENCH_LOG_LEVEL=debug: every job's log line (with BENCH_SERVICE_LOGS, a timeline of the run; it costs CPU).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'production', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info', PORT: '0',
      ...bundleEnv(entry), ...tuning(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // BENCH_SERVICE_LOGS=dir: each service's output, stdout and stderr (its log, and what flags such
  // as --trace-gc print), in dir/<stage>.log, started afresh with each process: the last run's.
  const logDir = process.env.BENCH_SERVICE_LOGS;
  const logFile = logDir ? `${logDir}/${stage}.log` : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  if (logFile !== undefined) writeFileSync(logFile, '');
  let stderr = '';
  if (logFile !== undefined) child.stderr!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${stage} did not start within 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (logFile !== undefined) appendFileSync(logFile, chunk);
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.includes(`"${stage} started"`)) {
          clearTimeout(timer);
          resolve();
        } else if (/"level":(50|60)/.test(line)) {
          note(`${stage}: ${line.slice(0, 400)}`);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${stage} exited (${code}) before it started: ${stderr}`));
    });
  });
  let lastPeak = 0;
  const stop = whenInterrupted(async () => {
    if (child.exitCode !== null) return;
    lastPeak = readPeakRssMb(child.pid!);
    child.kill('SIGTERM');
    await exited;
  });
  return {
    stage,
    child,
    peakRssMb() {
      if (child.exitCode === null) lastPeak = readPeakRssMb(child.pid!);
      return lastPeak;
    },
    cpuSeconds: () => readCpuSeconds(child.pid!),
    stop,
  };
}

/** CPU seconds of the services, PostgreSQL, Redis and this process (publisher, bench), for deltas. */
function sampleCpu(services: readonly ServiceProcess[]): Record<string, number> {
  return {
    ...Object.fromEntries(services.map((service) => [service.stage, service.cpuSeconds()])),
    postgres: readCpuSecondsByName('postgres'),
    redis: readCpuSecondsByName('redis-server'),
    bench: readCpuSeconds(process.pid),
  };
}

function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((key) => [key, round(after[key]! - (before[key] ?? 0), 1)]));
}

/**
 * What a {@link startCpuWindow} measured: CPU seconds by process, PostgreSQL's by service, and the
 * machine's ({@link machineShare}), which tell a run that had the cores from one that shared them
 * with another program or another guest. Null where /proc/stat is unreadable.
 */
export interface CpuWindow {
  cpuSeconds: Record<string, number>;
  postgresByService: Record<string, number>;
  machineCpu: MachineShare | null;
}

/**
 * Start measuring CPU for a measure's window: every process's ({@link sampleCpu}) and PostgreSQL's
 * split by service ({@link trackBackendCpu}). `stop` ends the window.
 */
export async function startCpuWindow(services: readonly ServiceProcess[], pool: Pool): Promise<{ stop(): Promise<CpuWindow> }> {
  const backends = await trackBackendCpu(pool);
  // The machine's reading outside the processes' on both ends, so their window lies within its.
  const machineBefore = readMachineCpu();
  const before = sampleCpu(services);
  return {
    async stop() {
      const after = sampleCpu(services);
      const machineAfter = readMachineCpu();
      const cpuSeconds = cpuDelta(before, after);
      // Unrounded: six deltas rounded to a tenth each could be off by 0.3 s together.
      const measured = Object.keys(after).reduce((sum, key) => sum + after[key]! - (before[key] ?? 0), 0);
      return {
        cpuSeconds,
        postgresByService: postgresByService(cpuSeconds.postgres!, await backends.stop()),
        machineCpu: machineBefore && machineAfter ? machineShare(machineBefore, machineAfter, measured) : null,
      };
    },
  };
}

/** Environment shared by the three services of one run. */
export function serviceEnv(databaseUrl: string, redisUrl: string, prefix: string, publisherUrl: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    NST_QUEUE_PREFIX: prefix,
    NST_OFFLINE: '1',
    NST_PUBLISHER_URL: publisherUrl,
    SCHEDULER_ENABLED: '0',
    SHUTDOWN_GRACE_SECONDS: '10',
  };
}
