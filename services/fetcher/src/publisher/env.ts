import { z } from 'zod';
import { intVar, loadEnv } from '@nst/shared/env';

export const PublisherEnv = z.object({
  NST_PUBLISHER_PORT: intVar(8720, 0, 65535),
  NST_PUBLISHER_HOST: z.string().default('127.0.0.1'),
});
export type PublisherEnv = z.infer<typeof PublisherEnv>;

export function readPublisherEnv(): PublisherEnv {
  return loadEnv(PublisherEnv, process.env);
}
