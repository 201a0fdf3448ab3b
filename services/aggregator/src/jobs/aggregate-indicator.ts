/**
 * The `aggregate-indicator` job: (scope, indicator) changed → recompute the snapshot history of
 * the targets that read it, and only those. Each target is recomputed in its own transaction
 * under a lock on the target, so concurrent jobs touching one target serialise.
 */
import type { Job } from 'bullmq';
import { withTransaction, type Pool } from '@nst/shared/db';
import { parseJobData, type AggregateJob } from '@nst/shared/jobs';
import type { Logger } from '@nst/shared/logger';
import type { ServiceMetrics } from '@nst/shared/ops';
import { inputDistricts, inputMeasures } from '../compute';
import { inputYears, planSnapshots } from '../snapshots';
import { findDependentTargets } from '../sql/targets';
import { loadVintages } from '../sql/vintages';
import { writeSnapshots, type WriteCounts } from '../sql/write-snapshots';

export interface AggregateDeps {
  pool: Pool;
  logger: Logger;
  /** Prometheus counters; optional for tests and the CLI. */
  metrics?: Pick<ServiceMetrics, 'snapshotsWritten'>;
}

export interface AggregateResult {
  targets: string[];
  counts: WriteCounts;
}

export async function handleAggregateJob(job: Job, deps: AggregateDeps): Promise<AggregateResult> {
  return aggregate(parseJobData('aggregate-indicator', job.data), deps);
}

export async function aggregate(change: AggregateJob, deps: AggregateDeps): Promise<AggregateResult> {
  const targets = await findDependentTargets(deps.pool, change.scope, change.indicator);
  const total: WriteCounts = { kept: 0, inserted: 0, deleted: 0 };
  for (const target of targets) {
    const counts = await withTransaction(deps.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 2022))', [`${target.release}|${target.key}`]);
      const vintages = await loadVintages(client, {
        indicator: target.indicator,
        districts: inputDistricts(target),
        measures: inputMeasures(target),
        years: inputYears(target),
      });
      return writeSnapshots(client, target, planSnapshots(target, vintages));
    });
    total.kept += counts.kept;
    total.inserted += counts.inserted;
    total.deleted += counts.deleted;
  }
  deps.metrics?.snapshotsWritten.inc({ change: 'inserted' }, total.inserted);
  deps.metrics?.snapshotsWritten.inc({ change: 'deleted' }, total.deleted);
  deps.logger.debug({ ...change, targets: targets.map((t) => t.key), ...total }, 'aggregated');
  return { targets: targets.map((t) => `${t.release}/${t.key}`), counts: total };
}
