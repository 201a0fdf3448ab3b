/**
 * Where the bundles of `pnpm build` (scripts/build.ts) are, and how production runs them: for the
 * tests and the bench, which run the services as the Dockerfile does, without loading esbuild.
 */
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What is built: each package's entries (source → `dist/<name>.mjs`), relative to the repository root. */
export const PACKAGES: ReadonlyArray<{ dir: string; entries: Readonly<Record<string, string>> }> = [
  { dir: 'services/fetcher', entries: { main: 'src/main.ts', publisher: 'src/publisher/main.ts' } },
  { dir: 'services/normalizer', entries: { main: 'src/main.ts' } },
  { dir: 'services/aggregator', entries: { main: 'src/main.ts' } },
  { dir: 'services/api', entries: { main: 'src/main.ts' } },
  { dir: 'packages/cli', entries: { main: 'src/main.ts' } },
];

/**
 * Node flags a bundle runs with (the Dockerfile and the packages' start scripts say the same,
 * scripts/build.test.ts checks it): the normalizer's main thread keeps 4 MB semi-spaces, since it
 * parses nothing itself (README "Performance"). V8's flags are the process's, so this also caps
 * the parse threads' young generation: at 6 MB they would parse a quarter cheaper, but the
 * normalizer then peaked at up to 307 MB, over its 300 MB budget.
 */
const NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  'services/normalizer/src/main.ts': ['--max-semi-space-size=4'],
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
