import { z } from 'zod';
import { commonEnvShape, loadEnv, boolVar } from '@nst/shared/env';

export const CliEnv = z.object({
  ...commonEnvShape,
  /** Map every source URL onto the offline publisher (same as `--offline`). */
  NST_OFFLINE: boolVar(false),
  /** Base URL of the offline publisher. */
  NST_PUBLISHER_URL: z.string().url().default('http://127.0.0.1:8720'),
  /** Password given to the nst_reader role by `nst migrate` (unset: leave the role as it is). */
  NST_READER_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
});
export type CliEnv = z.infer<typeof CliEnv>;

export function readCliEnv(): CliEnv {
  return loadEnv(CliEnv, process.env);
}
