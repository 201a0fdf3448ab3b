import { z } from 'zod';
import { commonEnvShape, intVar, loadEnv } from '@nst/shared/env';

export const NormalizerEnv = z.object({
  ...commonEnvShape,
  /** Port of /healthz, /readyz, /metrics. */
  PORT: intVar(9102, 0, 65535),
  /** Documents normalized at once by one replica. */
  NORMALIZE_CONCURRENCY: intVar(4, 1, 64),
  /** Seconds to let in-flight jobs finish on SIGTERM before closing anyway. */
  SHUTDOWN_GRACE_SECONDS: intVar(25, 0, 600),
});
export type NormalizerEnv = z.infer<typeof NormalizerEnv>;

export function readNormalizerEnv(): NormalizerEnv {
  return loadEnv(NormalizerEnv, process.env);
}
