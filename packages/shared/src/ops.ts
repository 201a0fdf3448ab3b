/**
 * The ops HTTP surface every service exposes: `/healthz` (the process is alive), `/readyz`
 * (Redis and PostgreSQL reachable and the worker consuming) and `/metrics` (Prometheus).
 */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Pool } from './db';
import type { Redis } from 'ioredis';

export interface ServiceMetrics {
  registry: Registry;
  jobsCompleted: Counter<'queue' | 'job'>;
  jobsFailed: Counter<'queue' | 'job' | 'reason'>;
  /** Jobs put back to wait (no attempt spent), by reason: a fetch waiting for its host's turn (`politeness`). */
  jobsDeferred: Counter<'queue' | 'job' | 'reason'>;
  jobDuration: Histogram<'queue' | 'job'>;
  /** Fetch attempts by outcome (archived, unchanged, not_modified, retry, failed, refused, skipped) and HTTP status. */
  fetchOutcomes: Counter<'outcome' | 'status'>;
  documentsArchived: Counter<'source'>;
  /** Observation vintages written, by change (inserted, revised, removed). */
  observationsWritten: Counter<'change'>;
  rejects: Counter<'reason'>;
  snapshotsWritten: Counter<'change'>;
}

/** A registry with process metrics and the job counters every worker reports. */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    jobsCompleted: new Counter({ name: 'nst_jobs_completed_total', help: 'Jobs completed', labelNames: ['queue', 'job'], registers: [registry] }),
    jobsFailed: new Counter({ name: 'nst_jobs_failed_total', help: 'Job attempts failed, by reason code', labelNames: ['queue', 'job', 'reason'], registers: [registry] }),
    jobsDeferred: new Counter({ name: 'nst_jobs_deferred_total', help: 'Jobs put back to wait without spending an attempt, by reason', labelNames: ['queue', 'job', 'reason'], registers: [registry] }),
    jobDuration: new Histogram({
      name: 'nst_job_duration_seconds',
      help: 'Job processing time',
      labelNames: ['queue', 'job'],
      buckets: [0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    fetchOutcomes: new Counter({ name: 'nst_fetch_outcomes_total', help: 'Fetch attempts by outcome and HTTP status', labelNames: ['outcome', 'status'], registers: [registry] }),
    documentsArchived: new Counter({ name: 'nst_documents_archived_total', help: 'New documents archived', labelNames: ['source'], registers: [registry] }),
    observationsWritten: new Counter({ name: 'nst_observations_written_total', help: 'Observation vintages written, by change', labelNames: ['change'], registers: [registry] }),
    rejects: new Counter({ name: 'nst_rejects_total', help: 'Records rejected, by reason', labelNames: ['reason'], registers: [registry] }),
    snapshotsWritten: new Counter({ name: 'nst_snapshots_written_total', help: 'Progress snapshots inserted or deleted', labelNames: ['change'], registers: [registry] }),
  };
}

export interface ReadinessCheck {
  ok: boolean;
  checks: Record<string, string>;
}

/** Redis answers PING, PostgreSQL answers SELECT 1, and the worker is running. */
export async function checkReadiness(deps: { pool: Pool; redis: Redis; workerRunning: () => boolean }): Promise<ReadinessCheck> {
  const timeout = <T>(promise: Promise<T>) =>
    Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000))]);
  const checks: Record<string, string> = {};
  await Promise.all([
    timeout(deps.redis.ping()).then(() => (checks.redis = 'ok'), (e: Error) => (checks.redis = e.message)),
    timeout(deps.pool.query('SELECT 1')).then(() => (checks.postgres = 'ok'), (e: Error) => (checks.postgres = e.message)),
  ]);
  checks.worker = deps.workerRunning() ? 'ok' : 'not running';
  return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
}

/** Options for {@link startOpsServer}. */
export interface OpsServerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Bind address; default 0.0.0.0 (containers) — metrics and health hold no secrets. */
  host?: string;
  registry: Registry;
  ready: () => Promise<ReadinessCheck>;
}

export async function startOpsServer(options: OpsServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, JSON.stringify({ error: 'method not allowed' }));
    if (path === '/healthz') return send(200, JSON.stringify({ ok: true }));
    if (path === '/readyz') {
      options.ready().then(
        (result) => send(result.ok ? 200 : 503, JSON.stringify(result)),
        (error: Error) => send(503, JSON.stringify({ ok: false, error: error.message })),
      );
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => send(200, text, options.registry.contentType),
        (error: Error) => send(500, JSON.stringify({ error: error.message })),
      );
      return;
    }
    send(404, JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
