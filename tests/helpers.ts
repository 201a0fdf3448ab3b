/**
 * Helpers for tests that run the services as real processes: spawn one, read its JSON log lines,
 * and stand up things that can be made to fail (a Redis server of the test's own, a TCP proxy
 * that can be cut).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Pool } from '@nst/shared/db';
import { bundleArgs, bundleEnv, ROOT } from '../scripts/bundles';

export { ROOT };

export interface ServiceProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first log line matching `predicate`. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** What the process wrote to stderr so far (a crash's stack trace). */
  stderr(): string;
}

/**
 * Run a service's bundle (`bundleArgs` and `bundleEnv`: what the Dockerfile runs), built from these sources by the
 * integration projects' global setup; `entry` names its source, `services/<stage>/src/main.ts`.
 */
export function startService(entry: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, bundleArgs(entry), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...bundleEnv(entry), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitForLine(predicate, timeoutMs = 30_000) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
        waiters.push({ predicate, resolve: (line) => { clearTimeout(timer); resolve(line); } });
        void exited.then((code) => { clearTimeout(timer); reject(new Error(`service exited (${code}) before the line; stderr: ${stderr.slice(-2000)}`)); });
      });
    },
  };
}

/** A TCP proxy to `target` that can refuse and cut connections, to make a server "go away". */
export interface CuttableProxy {
  port: number;
  /** Close every open connection and refuse new ones. */
  cut(): void;
  /** Accept connections again. */
  restore(): void;
  close(): Promise<void>;
}

export async function startProxy(targetHost: string, targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `fn` until it returns true. */
export async function eventually(fn: () => Promise<boolean>, timeoutMs = 20_000, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(pollMs);
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/**
 * What a run of the pipeline leaves in its tables, one text per row, independent of ids and of
 * when it ran: `raw.document`, `core.observation`, `core.reject`, and `agg.progress_snapshot`
 * (the latest snapshot of each target, and each target's history of snapshots in order).
 * valid_from is the publication date; for a document without one (an XLSX) it is the fetch time,
 * so it is left out there. Sorted, so two runs compare row by row.
 */
export async function pipelineRows(pool: Pool): Promise<Record<string, string[]>> {
  const queries: Record<string, string> = {
    documents: `SELECT url || ' ' || sha256_bytes AS r FROM raw.document`,
    observations: `SELECT concat_ws(' ', o.district, o.indicator, o.measure, o.accumulation, o.period, o.value, o.status, o.basis, o.url, o.locator,
                     CASE WHEN d.published_at IS NOT NULL THEN o.valid_from::text END, CASE WHEN d.published_at IS NOT NULL THEN o.valid_to::text END) AS r
                   FROM core.observation_vintage o JOIN raw.document d ON d.id = o.document_id`,
    rejects: `SELECT concat_ws(' ', d.url, r.reason, r.locator) AS r FROM core.reject r JOIN raw.document d ON d.id = r.document_id`,
    snapshots: `SELECT concat_ws(' ', release, target_key, actual_value, actual_period, status, progress_pct, gap, cagr_realised_pct) AS r FROM agg.latest_progress`,
    snapshotHistory: `SELECT concat_ws(' ', release, target_key, row_number() OVER (PARTITION BY release, target_key ORDER BY known_from), actual_value,
                        actual_period, actual_status, status, progress_pct, gap, known_to IS NULL) AS r FROM agg.progress_snapshot`,
  };
  const out: Record<string, string[]> = {};
  for (const [name, sql] of Object.entries(queries)) {
    const { rows } = await pool.query<{ r: string }>(`SELECT r FROM (${sql}) t ORDER BY r`);
    out[name] = rows.map((row) => row.r);
  }
  return out;
}

/** Row counts and checksums of {@link pipelineRows}: `count:md5` per table. */
export async function pipelineChecksums(pool: Pool): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const rows = await pipelineRows(pool);
  return Object.fromEntries(Object.entries(rows).map(([name, list]) => [name, `${list.length}:${createHash('md5').update(list.join('|')).digest('hex')}`]));
}

/** The rows of `expected` missing from `actual` and the rows of `actual` not in `expected`, per table (first 10 of each). */
export function diffRows(expected: Record<string, string[]>, actual: Record<string, string[]>): Record<string, { missing: string[]; extra: string[] }> {
  const out: Record<string, { missing: string[]; extra: string[] }> = {};
  for (const name of Object.keys(expected)) {
    const want = expected[name] ?? [];
    const have = actual[name] ?? [];
    const count = (list: string[]) => list.reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>());
    const wantCounts = count(want);
    const haveCounts = count(have);
    const missing = [...wantCounts].filter(([r, n]) => (haveCounts.get(r) ?? 0) < n).map(([r]) => r);
    const extra = [...haveCounts].filter(([r, n]) => (wantCounts.get(r) ?? 0) < n).map(([r]) => r);
    out[name] = { missing: missing.slice(0, 10), extra: extra.slice(0, 10) };
  }
  return out;
}

/** Run the README's main job, `nst run --once --offline`, on a test database and Redis prefix; returns its stdout. */
export async function runOfflineJob(target: { databaseUrl: string; redisUrl: string; prefix: string }, timeoutMs = 300_000): Promise<string> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { stdout } = await promisify(execFile)(`${ROOT}node_modules/.bin/tsx`, ['packages/cli/src/main.ts', 'run', '--once', '--offline'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: target.databaseUrl, REDIS_URL: target.redisUrl, NST_QUEUE_PREFIX: target.prefix },
    timeout: timeoutMs,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}
