import type { ConnectionOptions, Worker } from 'bullmq';
import type { Pool } from '@nst/shared/db';
import type { ServiceMetrics } from '@nst/shared/ops';
import { Indicator } from '@nst/shared/seeds';
import { createWorker } from '@nst/shared/worker';
import { buildIndicatorCatalog, type IndicatorCatalog } from './indicators';
import { handleNormalizeJob, type NormalizeDeps } from './jobs/normalize-document';

/** The indicators as loaded into core.indicator (the database is the truth once seeded). */
export async function loadIndicators(pool: Pool): Promise<Indicator[]> {
  const { rows } = await pool.query('SELECT code, name_zh, name_en, aliases, unit, unit_mult, additive, description FROM core.indicator ORDER BY code');
  return rows.map((row) => Indicator.parse({ ...row, description: row.description ?? undefined }));
}

/** The catalog of {@link loadIndicators}. */
export async function loadCatalog(pool: Pool): Promise<IndicatorCatalog> {
  return buildIndicatorCatalog(await loadIndicators(pool));
}

export interface NormalizeWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  concurrency: number;
  /** Job lock duration in ms; see NST_JOB_LOCK_MS. */
  lockDurationMs?: number;
  metrics?: ServiceMetrics;
}

export function createNormalizeWorker(deps: NormalizeDeps, options: NormalizeWorkerOptions): Worker {
  return createWorker((job) => handleNormalizeJob(job, deps), {
    queue: 'normalize',
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    lockDurationMs: options.lockDurationMs,
    logger: deps.logger,
    metrics: options.metrics,
  });
}
