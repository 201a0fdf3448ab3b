import type { Pool } from '@nst/shared/db';
import { migrate } from '@nst/shared/migrate';
import type { Register } from '../main';

/** Load seeds/ into the database; the seeds' modules (yaml, node-cron) only when a command seeds. */
async function seed(pool: Pool): Promise<string> {
  const { applySeeds, loadSeeds } = await import('@nst/shared/seeds');
  const seeded = await applySeeds(pool, await loadSeeds());
  return `seeds: ${seeded.indicators} indicators, ${seeded.sources} sources, ${seeded.targets} targets (${seeded.changed} rows changed)`;
}

export const registerMigrate: Register = (program, context) => {
  program
    .command('migrate')
    .description('apply pending migrations (safe to run concurrently), then load seeds/')
    .option('--no-seed', 'apply migrations only')
    .action(async (options: { seed: boolean }) => {
      const ctx = context();
      const pool = await ctx.db();
      const result = await migrate(pool, { onApplied: (name) => console.log(`applied ${name}`) });
      if (result.applied.length === 0) console.log(`migrations: up to date (${result.alreadyApplied} applied before)`);
      if (ctx.env.NST_READER_PASSWORD) {
        // A literal is required by ALTER ROLE; format it as one with the server's own quoting.
        const { rows } = await pool.query<{ sql: string }>(
          "SELECT format('ALTER ROLE nst_reader PASSWORD %L', $1::text) AS sql",
          [ctx.env.NST_READER_PASSWORD],
        );
        await pool.query(rows[0]!.sql);
      }
      if (options.seed) console.log(await seed(pool));
    });

  program
    .command('seed')
    .description('load seeds/ (indicators, sources, targets) idempotently')
    .action(async () => {
      console.log(await seed(await context().db()));
    });
};
