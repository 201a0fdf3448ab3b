import { migrate } from '@nst/shared/migrate';
import { applySeeds, loadSeeds } from '@nst/shared/seeds';
import type { Register } from '../main';
import { renderTable } from '../table';

export const registerRun: Register = (program, context) => {
  program
    .command('run')
    .description('the main job: migrate, seed, and run every enabled source through the pipeline')
    .option('--once', 'run one pass and exit (the only mode so far)')
    .option('--offline', 'map every source URL onto the offline publisher')
    .action(async (options: { once?: boolean; offline?: boolean }) => {
      const ctx = context();
      const pool = await ctx.db();
      if (!options.once) throw new Error('only `nst run --once` is supported; the services run the schedule');
      await migrate(pool);
      const seeds = await loadSeeds();
      await applySeeds(pool, seeds);
      const offline = options.offline || ctx.env.NST_OFFLINE;
      console.log(`mode: ${offline ? `offline (publisher ${ctx.env.NST_PUBLISHER_URL})` : 'online'}`);
      console.log(
        renderTable(
          ['source', 'district', 'format', 'schedule', 'url'],
          seeds.sources.filter((s) => s.enabled).map((s) => [s.key, s.district, s.format, s.schedule, s.url]),
        ),
      );
      console.log(
        renderTable(
          ['release', 'target', 'scope', 'indicator', 'kind', 'value', 'by'],
          seeds.releases.flatMap((r) =>
            r.targets.map((t) => [r.key, t.key, t.scope, t.indicator, t.kind, t.value === undefined ? null : `${t.value} ${t.unit}×10^${t.unit_mult}`, t.target_year]),
          ),
        ),
      );
    });
};
