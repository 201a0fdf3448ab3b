/**
 * The resilience suite's harness: the pipeline as three real service processes that a test can
 * kill and restart, a clean reference run to compare against, a Redis server of the test's own
 * (with AOF, so it can be killed and restarted), and the waits and checks every scenario shares.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue } from 'bullmq';
import { enqueueSourceTick, fetchJobOptions, loadSources, startPublisher, type Fault, type Publisher } from '@nst/fetcher';
import type { Pool } from '@nst/shared/db';
import { closeQueues, createQueues, enqueue, jobId, type Queues } from '@nst/shared/jobs';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@nst/shared/testing';
import { eventually, freePort, pipelineRows, runOfflineJob, sleep, startService, type ServiceProcess } from '../helpers';

export const STAGES = ['fetcher', 'normalizer', 'aggregator'] as const;
export type Stage = (typeof STAGES)[number];

/** A test database with politeness off: the offline publisher is ours and answers at once. */
export async function createPipelineDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  await db.pool.query(`UPDATE raw.source SET politeness = politeness || '{"minDelayMs": 0}'::jsonb`);
  return db;
}

/**
 * The reference: the README's main job (`nst run --once --offline`, one process, nothing going
 * wrong) on a database and prefix of its own. Returns its rows (see `pipelineRows`).
 */
export async function referenceRun(): Promise<Record<string, string[]>> {
  const db = await createPipelineDatabase();
  const redis = await createTestRedis();
  try {
    await runOfflineJob({ databaseUrl: db.url, redisUrl: redis.url, prefix: redis.prefix }, 180_000);
    return await pipelineRows(db.pool);
  } finally {
    await redis.cleanup();
    await db.drop();
  }
}

/** The environment every service of a scenario shares (crash-friendly: short job locks, fast retries). */
export function serviceEnv(options: { databaseUrl: string; redisUrl: string; prefix: string; publisherUrl: string }): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    NST_QUEUE_PREFIX: options.prefix,
    NST_OFFLINE: '1',
    NST_PUBLISHER_URL: options.publisherUrl,
    SCHEDULER_ENABLED: '0',
    // A killed worker's job is handed back after about this long.
    NST_JOB_LOCK_MS: '2000',
    FETCH_BACKOFF_MS: '100',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_SECONDS: '5',
  };
}

/** The three services as processes, each startable, killable and restartable; every log line kept. */
export class PipelineServices {
  readonly processes = new Map<Stage, ServiceProcess>();
  /** Every process ever started, in order (killed ones included), for their log lines. */
  readonly history: Array<{ stage: Stage; process: ServiceProcess }> = [];

  constructor(private readonly env: Record<string, string>) {}

  /** The ops port (/healthz, /readyz, /metrics) of each stage's current process. */
  readonly ports = new Map<Stage, number>();

  async start(stage: Stage): Promise<ServiceProcess> {
    const port = await freePort();
    const service = startService(`services/${stage}/src/main.ts`, { ...this.env, PORT: String(port) });
    this.processes.set(stage, service);
    this.ports.set(stage, port);
    this.history.push({ stage, process: service });
    await service.waitForLine((line) => line.msg === `${stage} started`, 60_000);
    return service;
  }

  async startAll(): Promise<void> {
    for (const stage of STAGES) await this.start(stage);
  }

  /** SIGKILL: no handler runs, in-flight jobs keep their (expiring) locks. */
  async kill(stage: Stage): Promise<void> {
    const service = this.processes.get(stage);
    if (!service) return;
    if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
    await service.exited;
  }

  /** Whether each stage's current process is still running. */
  running(): Record<Stage, boolean> {
    return Object.fromEntries(STAGES.map((stage) => {
      const child = this.processes.get(stage)?.child;
      return [stage, child !== undefined && child.exitCode === null && child.signalCode === null];
    })) as Record<Stage, boolean>;
  }

  /** What went wrong, for a failure message: which processes died and how, with their last words. */
  diagnose(): string {
    return this.history
      .filter(({ process }) => process.child.exitCode !== null && process.child.signalCode !== 'SIGKILL')
      .map(({ stage, process }) => `${stage} exited ${process.child.exitCode ?? process.child.signalCode}: ${process.stderr().slice(-1500)} ${JSON.stringify(process.lines.slice(-3))}`)
      .join('\n');
  }

  /** Every log line of every process, each tagged with its stage. */
  lines(): Array<Record<string, unknown>> {
    return this.history.flatMap(({ stage, process }) => process.lines.map((line) => ({ stage, ...line })));
  }

  async stopAll(): Promise<void> {
    for (const stage of STAGES) await this.kill(stage);
  }
}

/** Queues of the test's own on `redisUrl`, with a connection that outlives a Redis restart. */
export function openQueues(redisUrl: string, prefix: string): { queues: Queues; close(): Promise<void> } {
  const connection = createRedis(redisUrl, { role: 'worker', name: prefix });
  const queues = createQueues({ connection, prefix });
  // A Redis restart is part of the plan: the client reconnects by itself, nothing to report.
  connection.on('error', () => undefined);
  for (const queue of Object.values(queues)) queue.on('error', () => undefined);
  return {
    queues,
    async close() {
      await closeQueues(queues);
      connection.disconnect();
    },
  };
}

/** One fetch job per enabled source, as a scheduler tick would enqueue them. */
export async function enqueueAllSources(pool: Pool, queues: Queues, tick: string): Promise<void> {
  for (const source of (await loadSources(pool)).filter((s) => s.enabled)) {
    await enqueueSourceTick(queues, source, tick, fetchJobOptions(5, 100));
  }
}

const pipelineQueues = (queues: Queues): Queue[] => [queues.fetch, queues.normalize, queues.aggregate];

/** Jobs waiting, active, delayed or prioritized, over the three queues. */
export async function pendingJobs(queues: Queues): Promise<number> {
  let busy = 0;
  for (const queue of pipelineQueues(queues)) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    busy += Object.values(counts).reduce((sum, n) => sum + n, 0);
  }
  return busy;
}

/**
 * Wait until nothing is pending for three polls in a row (a finishing job may enqueue the next).
 * On timeout, the error says what is still pending and which services died.
 */
export async function waitForPipelineIdle(queues: Queues, timeoutMs: number, services?: PipelineServices): Promise<void> {
  let idle = 0;
  try {
    await eventually(async () => {
      idle = (await pendingJobs(queues)) === 0 ? idle + 1 : 0;
      return idle >= 3;
    }, timeoutMs, 300);
  } catch (error) {
    const counts = await Promise.all(pipelineQueues(queues).map(async (q) => `${q.name} ${JSON.stringify(await q.getJobCounts())}`));
    throw new Error(`${(error as Error).message}: ${counts.join('; ')}; running ${JSON.stringify(services?.running())}\n${services?.diagnose() ?? ''}`);
  }
}

/** Every failed job, as `queue id: reason`. */
export async function failedJobs(queues: Queues): Promise<string[]> {
  const out: string[] = [];
  for (const queue of pipelineQueues(queues)) {
    for (const job of await queue.getFailed()) out.push(`${queue.name} ${job.id}: ${job.failedReason}`);
  }
  return out;
}

/** Rows that would be duplicates of one another: the same document archived twice, or one figure with two open vintages. */
export async function duplicateRows(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ r: string }>(`
    SELECT 'document ' || source_key || ' ' || url || ' ×' || count(*) AS r FROM raw.document GROUP BY source_key, url HAVING count(*) > 1
    UNION ALL
    SELECT concat_ws(' ', 'observation', district, indicator, measure, accumulation, period, valid_from, '×' || count(*)) FROM core.observation
      GROUP BY district, indicator, measure, accumulation, period, valid_from HAVING count(*) > 1
    UNION ALL
    SELECT concat_ws(' ', 'snapshot', release, target_key, known_from, '×' || count(*)) FROM agg.progress_snapshot
      GROUP BY release, target_key, known_from HAVING count(*) > 1`);
  return rows.map((row) => row.r);
}

/** A redis-server of the test's own, persisting to an append-only file so it can be killed and restarted. */
export interface OwnRedis {
  port: number;
  url: string;
  /** Stop the server (SIGKILL: a crash; SIGTERM: a clean shutdown) and wait for it to exit. */
  stop(signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>;
  /** Start it again on the same port and data directory, and wait until it answers. */
  start(): Promise<void>;
  /** Stop it and delete its data. */
  destroy(): Promise<void>;
}

/**
 * Start `redis-server` on a free port with AOF. `appendfsync always`: every write is on disk before
 * it is acknowledged, so even SIGKILL loses no acknowledged job (the deployment's setting too).
 */
export async function startOwnRedis(options: { password?: string } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nst-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  if (options.password) args.push('--requirepass', options.password);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await eventually(() => ping(port, options.password), 15_000, 100);
  };
  const stop = async (signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL') => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise((resolve) => current.once('exit', resolve));
    current.kill(signal);
    await exited;
  };
  await start();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    stop,
    start,
    async destroy() {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether a Redis server answers PING on `port` (raw RESP, no client library). */
function ping(port: number, password?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('connect', () => socket.write(password ? `AUTH ${password}\r\nPING\r\n` : 'PING\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      if (data.includes('+PONG')) {
        socket.destroy();
        resolve(true);
      }
    });
    socket.on('error', () => resolve(false));
  });
}

export { sleep };

/** One document of a corpus: served by the offline publisher under its own registered source. */
export interface CorpusCase {
  /** Short name, also the source key's suffix (lower case, digits, dashes). */
  name: string;
  /** Path of its URL on the corpus host, e.g. `monthly/number-nan.html`. */
  path: string;
  format: 'stats-table' | 'bulletin' | 'news-article' | 'xls';
  /** The body served (absent when a fault answers instead). */
  body?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Publisher faults, by path on the corpus host (`''` is the case's own path). */
  faults?: Array<{ path?: string; fault: Fault }>;
}

/** The host every corpus case is registered under (a registry host, mapped onto the publisher offline). */
export const CORPUS_HOST = 'bad-input.nst.test';

export const sourceKeyOf = (c: Pick<CorpusCase, 'name'>) => `corpus-${c.name}`;

/** What a test inspects after a corpus went through the pipeline. */
export interface CorpusRun {
  db: TestDatabase;
  queues: Queues;
  services: PipelineServices;
  publisher: Publisher;
}

/**
 * Put every case through the real path: its own source in `raw.source` (district baoshan, default
 * politeness but no delay), the offline publisher serving it, the fetcher and normalizer as
 * processes fetching and normalizing it; then `inspect` the outcome before everything is torn down.
 */
export async function runCorpus(cases: readonly CorpusCase[], inspect: (run: CorpusRun) => Promise<void>, options: { env?: Record<string, string> } = {}): Promise<void> {
  const db = await createTestDatabase();
  const redis = await createTestRedis();
  const extraFiles = new Map<string, { body: Buffer; contentType: string; headers?: Record<string, string> }>();
  for (const c of cases) {
    if (c.body) extraFiles.set(`${CORPUS_HOST}/${c.path}`, { body: c.body, contentType: c.contentType ?? 'text/html; charset=utf-8', ...(c.headers ? { headers: c.headers } : {}) });
  }
  const publisher = await startPublisher({ extraFiles, control: false });
  for (const c of cases) for (const { path, fault } of c.faults ?? []) publisher.setFault(`${CORPUS_HOST}/${path || c.path}`, fault);
  for (const c of cases) {
    await db.pool.query(
      `INSERT INTO raw.source (key, name, publisher, district, format, url, schedule, lang, politeness)
       VALUES ($1, $2, 'resilience corpus', 'baoshan', $3, $4, '0 7 * * *', 'zh', $5)`,
      [sourceKeyOf(c), `corpus case ${c.name}`, c.format, `https://${CORPUS_HOST}/${c.path}`,
        JSON.stringify({ minDelayMs: 0, concurrency: 1, timeoutMs: 20_000, maxBytes: 10 * 1024 * 1024 })],
    );
  }
  const { queues, close } = openQueues(redis.url, redis.prefix);
  const services = new PipelineServices({
    ...serviceEnv({ databaseUrl: db.url, redisUrl: redis.url, prefix: redis.prefix, publisherUrl: publisher.url }),
    ...options.env,
  });
  try {
    // The services read the registry (the guard's allowed hosts) when they start: after the inserts.
    await services.startAll();
    for (const c of cases) {
      await enqueue(queues, 'fetch-source', { sourceKey: sourceKeyOf(c), reason: 'manual' }, { ...fetchJobOptions(3, 100), jobId: jobId('corpus', c.name) });
    }
    await waitForPipelineIdle(queues, 120_000, services);
    await inspect({ db, queues, services, publisher });
  } finally {
    await services.stopAll();
    await close();
    await publisher.close();
    await redis.cleanup();
    await db.drop();
  }
}
