import { z } from 'zod';
import { commonEnvShape, intVar, loadEnv } from '@nst/shared/env';
import { AGGREGATE_DEBOUNCE_MS, AGGREGATE_MAX_DEBOUNCE_MS, STORE_LANES } from './jobs/normalize-document';
import { defaultParseThreads } from './parse-pool';

export const NormalizerEnv = z.object({
  ...commonEnvShape,
  /** Port of /healthz, /readyz, /metrics. */
  PORT: intVar(9102, 0, 65535),
  /**
   * Documents normalized at once by one replica. Jobs in flight share their round trips (loaded
   * together, stored together in one transaction), so more of them means bigger batches. 32: in
   * the benchmark's backfill, 10 % more pages/s and 9 % less CPU a page than 16 (batches of about
   * 10 documents instead of 6.5), the normalizer's peak RSS within the noise; 64 adds little more.
   */
  NORMALIZE_CONCURRENCY: intVar(32, 1, 64),
  /**
   * Threads that parse documents beside the main thread (0: the main thread parses). Default 2 on a
   * machine with more than one core.
   */
  NORMALIZE_PARSE_THREADS: intVar(defaultParseThreads(), 0, 16),
  /**
   * Store transactions at once per replica while parsed documents wait (a backfill, a reprocess);
   * one at a time otherwise. Default STORE_LANES (2).
   */
  NORMALIZE_STORE_LANES: intVar(STORE_LANES, 1, 8),
  /**
   * How long an aggregate job waits for more changes of its (district, indicator) before it runs,
   * after a quiet spell: the most a lone change waits to reach the snapshots. Default
   * AGGREGATE_DEBOUNCE_MS.
   */
  NORMALIZE_AGGREGATE_DELAY_MS: intVar(AGGREGATE_DEBOUNCE_MS, 0, 600_000),
  /**
   * The longest an aggregate job waits while its key keeps changing (each job of a burst waits
   * twice as long as the one before, from NORMALIZE_AGGREGATE_DELAY_MS up to this). Default
   * AGGREGATE_MAX_DEBOUNCE_MS; a value below NORMALIZE_AGGREGATE_DELAY_MS counts as that (no stretch).
   * Each replica stretches the jobs it adds.
   */
  NORMALIZE_AGGREGATE_MAX_DELAY_MS: intVar(AGGREGATE_MAX_DEBOUNCE_MS, 0, 600_000),
  /** Seconds to let in-flight jobs finish on SIGTERM before closing anyway. */
  SHUTDOWN_GRACE_SECONDS: intVar(25, 0, 600),
});
export type NormalizerEnv = z.infer<typeof NormalizerEnv>;

export function readNormalizerEnv(): NormalizerEnv {
  return loadEnv(NormalizerEnv, process.env);
}
