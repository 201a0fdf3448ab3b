import { migrate } from '@nst/shared/migrate';
import { NstError } from '@nst/shared/errors';
import type { Register } from '../main';
import { readProgress, renderProgress } from './progress';

export const registerRun: Register = (program, context) => {
  program
    .command('run')
    .description('the main job: every enabled source through fetch → normalize → aggregate, then the progress table')
    .option('--once', 'run one pass in this process and exit (the services run the schedule)')
    .option('--offline', 'fetch from the offline publisher (started in-process unless --publisher-url)')
    .option('--publisher-url <url>', 'an offline publisher already running')
    .option('--timeout <seconds>', 'give up after this long', '1800')
    .action(async (options: { once?: boolean; offline?: boolean; publisherUrl?: string; timeout: string }) => {
      if (!options.once) throw new NstError('usage', 'only `nst run --once` runs in the CLI; deploy the services for scheduled runs');
      // Loaded here, not at the top: every command would pay for the services' modules at start.
      const [{ enqueueSourceTick, fetchJobOptions, loadSources }, { startPipeline, waitForDrain }, { applySeeds, loadSeeds }] = await Promise.all([
        import('@nst/fetcher'), import('../pipeline'), import('@nst/shared/seeds')]);
      const ctx = context();
      const pool = await ctx.db();
      await migrate(pool);
      await applySeeds(pool, await loadSeeds());
      const offline = Boolean(options.offline || ctx.env.NST_OFFLINE);
      const pipeline = await startPipeline(ctx, {
        stages: ['fetch', 'normalize', 'aggregate'],
        offline,
        publisherUrl: options.publisherUrl ?? (ctx.env.NST_OFFLINE && !options.offline ? ctx.env.NST_PUBLISHER_URL : undefined),
      });
      try {
        const queues = await ctx.queues();
        const tick = `run-${new Date().toISOString()}`;
        const sources = (await loadSources(pool)).filter((s) => s.enabled);
        for (const source of sources) await enqueueSourceTick(queues, source, tick, fetchJobOptions(5, 1000), 'manual');
        console.error(`run: ${sources.length} sources ${offline ? `from the offline publisher ${pipeline.publisher?.url ?? options.publisherUrl ?? ctx.env.NST_PUBLISHER_URL}` : 'online'}`);
        await waitForDrain(ctx, { timeoutMs: Number(options.timeout) * 1000, label: 'run' });
      } finally {
        await pipeline.close();
      }
      const { rows } = await pool.query(
        `SELECT (SELECT count(*) FROM raw.document)::int AS documents, (SELECT count(*) FROM core.observation_current)::int AS observations,
                (SELECT count(*) FROM core.reject)::int AS rejects, (SELECT count(*) FROM core.news_item)::int AS news,
                (SELECT count(*) FROM raw.fetch_log WHERE outcome IN ('failed', 'refused') AND at > now() - interval '1 hour')::int AS failed_fetches`,
      );
      const s = rows[0];
      console.log(`archive: ${s.documents} documents · ${s.observations} current observations · ${s.news} news items · ${s.rejects} rejects · ${s.failed_fetches} failed fetches`);
      console.log(renderProgress(await readProgress(pool), 'table'));
    });
};
