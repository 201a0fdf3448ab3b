/**
 * Where the bundles of `pnpm build` (scripts/build.ts) are, and how production runs them: for the
 * tests and the bench, which run the services as the Dockerfile does, without loading esbuild.
 */
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/**
 * What is built: each package's entries (source → `dist/<name>.mjs`), relative to the repository
 * root, and the packages from node_modules it carries in its bundle (`inline`, with what they
 * import) instead of loading them from node_modules.
 *
 * The CLI carries the packages every command loads when it starts: Node resolved, read and
 * compiled their few hundred files (zod's alone about fifty) in 0.6–0.8 s before a command ran,
 * which `nst reprocess` spends before the normalizer gets its first job. What only some commands
 * load (the services' code for `--inline` and `run`, the parsers, the operations UI) is loaded
 * when they run, from node_modules as before, and so is pino with its transport threads.
 */
export const PACKAGES: ReadonlyArray<{ dir: string; entries: Readonly<Record<string, string>>; inline?: readonly string[] }> = [
  { dir: 'services/fetcher', entries: { main: 'src/main.ts', publisher: 'src/publisher/main.ts' } },
  { dir: 'services/normalizer', entries: { main: 'src/main.ts' } },
  { dir: 'services/aggregator', entries: { main: 'src/main.ts' } },
  { dir: 'services/api', entries: { main: 'src/main.ts' } },
  {
    dir: 'packages/cli',
    entries: { main: 'src/main.ts' },
    inline: ['commander', 'zod', 'ioredis', 'bullmq', 'pg', 'yaml', 'node-cron', 'chardet', 'iconv-lite', 'cli-table3'],
  },
];

/**
 * Node flags a bundle runs with (the Dockerfile and the packages' start scripts say the same,
 * scripts/build.test.ts checks it).
 *
 * The three workers grow their old generation by half of what survived the last full collection
 * (`--heap-growing-percent=50`), where V8 would choose up to four times over: it lets a worker's
 * heap, whose live part stays at 20–30 MB, fill to three or four times that before collecting it
 * (the normalizer's main heap to 87–114 MB in an N = 1,000 run). The peaks this takes off, with no
 * CPU cost the bench can see (docs/performance.md): the normalizer's in the `--full` reprocess
 * 201–208 MB against 251–269, and at N = 1,000 each worker's by 45–65 MB.
 *
 * The three workers compile a function to baseline code (Sparkplug) on its first call
 * (`--always-sparkplug`), where V8 would interpret it until it had run a while: a worker runs
 * the same few hundred functions for every job, so the interpreter's time before they tier up is
 * spent again in every run and every restart, and a baseline compile is cheap. Ten pairs of
 * `pnpm bench --only pipeline --n 200` (docs/performance.md): the three workers' CPU 4 % lower
 * against that of PostgreSQL, Redis and the harness, in every pair.
 *
 * The normalizer's semi-spaces are 6 MB: V8's flags are the process's, so this sizes the parse
 * threads' young generation as well as the main thread's, and a parse's garbage dies young at 6 MB
 * where at 4 it was promoted and collected again by full collections (docs/performance.md: the
 * normalizer's CPU in the pipeline 18–21 % lower). What that costs in memory, {@link BUNDLE_ENV}
 * wins back.
 */
const WORKER_HEAP = '--heap-growing-percent=50';
const WORKER_TIERS = '--always-sparkplug';
const NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  'services/fetcher/src/main.ts': [WORKER_HEAP, WORKER_TIERS],
  'services/normalizer/src/main.ts': [WORKER_HEAP, WORKER_TIERS, '--max-semi-space-size=6'],
  'services/aggregator/src/main.ts': [WORKER_HEAP, WORKER_TIERS],
};

/**
 * Environment a bundle runs with (the Dockerfile's `ENV` of its target and its start script say the
 * same, scripts/build.test.ts checks it): glibc's malloc settings for the normalizer, whose freed
 * memory otherwise stays resident. It allocates from several threads (the parse threads, V8's
 * collector threads), and glibc would give each of them an arena of its own: two at most now. And
 * a block of 128 KB or more is always mapped on its own and unmapped when freed, where glibc would
 * raise that threshold after each such free and serve later big blocks from the arenas. With the
 * 6 MB semi-spaces above, the normalizer peaked at 267–291 MB over five `--full` reprocesses with
 * both settings, 271–306 MB over nine with two arenas alone (docs/performance.md).
 */
const BUNDLE_ENV: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'services/normalizer/src/main.ts': { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' },
};

/**
 * `node` arguments that run the bundle of a source entry (`services/normalizer/src/main.ts`) as
 * production does: its flags, then `extraFlags` (the last of a V8 flag wins), then the bundle.
 */
export function bundleArgs(entry: string, extraFlags: readonly string[] = []): string[] {
  for (const { dir, entries } of PACKAGES) {
    for (const [name, source] of Object.entries(entries)) {
      if (`${dir}/${source}` === entry) return [...(NODE_FLAGS[entry] ?? []), ...extraFlags, `${ROOT}${dir}/dist/${name}.mjs`];
    }
  }
  throw new Error(`no bundle is built for ${entry}`);
}

/** The environment the bundle of a source entry runs with besides its configuration (see {@link BUNDLE_ENV}). */
export function bundleEnv(entry: string): Record<string, string> {
  return { ...BUNDLE_ENV[entry] };
}
