import type { Logger } from '@nst/shared/logger';
import type { Pool } from '@nst/shared/db';

/** What the routes need: the reader pool (nst_reader: SELECT on agg, nothing else) and a logger. */
export interface ApiDeps {
  pool: Pool;
  logger: Logger;
}
