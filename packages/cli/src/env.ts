import { z } from 'zod';
import { commonEnvShape, loadEnv, boolVar, intVar } from '@nst/shared/env';

export const CliEnv = z.object({
  ...commonEnvShape,
  /** Map every source URL onto the offline publisher (same as `--offline`). */
  NST_OFFLINE: boolVar(false),
  /** Base URL of the offline publisher. */
  NST_PUBLISHER_URL: z.string().url().default('http://127.0.0.1:8720'),
  /** Ops UI (Bull Board) user; `admin` is accepted only when NODE_ENV=development. */
  NST_OPS_USER: z.string().min(1).optional(),
  /** Ops UI password; `admin` is accepted only when NODE_ENV=development. */
  NST_OPS_PASSWORD: z.string().min(1).optional(),
  /** Where `nst ops-ui` listens. */
  NST_OPS_PORT: intVar(9100, 0, 65535),
  NST_OPS_HOST: z.string().default('127.0.0.1'),
  /** Password given to the nst_reader role by `nst migrate` (unset: leave the role as it is). */
  NST_READER_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
});
export type CliEnv = z.infer<typeof CliEnv>;

export function readCliEnv(): CliEnv {
  return loadEnv(CliEnv, process.env);
}
