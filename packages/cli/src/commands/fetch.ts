import { NstError } from '@nst/shared/errors';
import type { Register } from '../main';

export const registerFetch: Register = (program, context) => {
  program
    .command('fetch')
    .description('enqueue a fetch of one source now (the fetcher service runs it)')
    .argument('<source>', 'source key, see `nst sources`')
    .option('--force', 'fetch its documents again even if archived, and skip conditional GET')
    .action(async (key: string, options: { force?: boolean }) => {
      // Loaded here, not at the top: every command would pay for the fetcher's modules at start.
      const { enqueueSourceTick, fetchJobOptions, FetcherEnv, loadSources } = await import('@nst/fetcher');
      const ctx = context();
      const source = (await loadSources(await ctx.db())).find((s) => s.key === key);
      if (!source) throw new NstError('usage', `unknown source "${key}" (see \`nst sources\`)`);
      const defaults = FetcherEnv.parse({});
      const id = await enqueueSourceTick(
        await ctx.queues(),
        source,
        `manual-${new Date().toISOString()}`,
        fetchJobOptions(defaults.FETCH_ATTEMPTS, defaults.FETCH_BACKOFF_MS),
        'manual',
        Boolean(options.force),
      );
      console.log(`enqueued fetch of ${key}${options.force ? ' (forced)' : ''}: job ${id}`);
    });
};
