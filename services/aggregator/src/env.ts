import { z } from 'zod';
import { commonEnvShape, intVar, loadEnv } from '@nst/shared/env';

export const AggregatorEnv = z.object({
  ...commonEnvShape,
  /** Port of /healthz, /readyz, /metrics. */
  PORT: intVar(9103, 0, 65535),
  /** Aggregate jobs processed at once by one replica. */
  AGGREGATE_CONCURRENCY: intVar(2, 1, 32),
  /** Seconds to let in-flight jobs finish on SIGTERM before closing anyway. */
  SHUTDOWN_GRACE_SECONDS: intVar(25, 0, 600),
});
export type AggregatorEnv = z.infer<typeof AggregatorEnv>;

export function readAggregatorEnv(): AggregatorEnv {
  return loadEnv(AggregatorEnv, process.env);
}
