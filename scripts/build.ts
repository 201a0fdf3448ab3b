/**
 * `pnpm build`: each service (and the CLI) as one JavaScript file, `dist/main.mjs` beside its
 * `src/`, which production runs with plain `node` (the Dockerfile, the benchmark, the tests that
 * run the services as processes).
 *
 * Why: under `--import tsx` every service process starts a loader thread of its own and compiles
 * its TypeScript in memory; a normalizer at rest held about 160 MB, on its bundle about 100.
 *
 * Only the workspace's own code is bundled. Every package from node_modules stays a module of
 * its own, imported by a path relative to the bundle (resolved from the importing source file,
 * as Node resolves it under tsx): packages that find files beside themselves (native addons,
 * pino's transport workers) load as they always do, and the checkout can move as a whole. For
 * the same reason `import.meta.url` in a source file becomes that source file's URL, relative to
 * the bundle: `new URL('../migrations/', import.meta.url)` still names the migrations folder.
 */
import { readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { PARSE_THREAD_BUILD, PARSE_THREAD_SOURCE } from '../services/normalizer/src/parse-thread-module';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** What is built: each package's entries (source → `dist/<name>.mjs`), relative to the repository root. */
export const PACKAGES: ReadonlyArray<{ dir: string; entries: Readonly<Record<string, string>> }> = [
  { dir: 'services/fetcher', entries: { main: 'src/main.ts', publisher: 'src/publisher/main.ts' } },
  { dir: 'services/normalizer', entries: { main: 'src/main.ts' } },
  { dir: 'services/aggregator', entries: { main: 'src/main.ts' } },
  { dir: 'services/api', entries: { main: 'src/main.ts' } },
  { dir: 'packages/cli', entries: { main: 'src/main.ts' } },
];

/** The bundle of a source entry (`services/normalizer/src/main.ts` → `…/dist/main.mjs`), absolute. */
export function bundleOf(entry: string): string {
  for (const { dir, entries } of PACKAGES) {
    for (const [name, source] of Object.entries(entries)) if (`${dir}/${source}` === entry) return `${ROOT}${dir}/dist/${name}.mjs`;
  }
  throw new Error(`no bundle is built for ${entry}`);
}

/**
 * Node flags a bundle runs with (the Dockerfile and the packages' start scripts say the same):
 * the normalizer's main thread keeps 4 MB semi-spaces, since it parses nothing itself (README
 * "Performance").
 */
const NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  'services/normalizer/src/main.ts': ['--max-semi-space-size=4'],
};

/** `node` arguments that run the bundle of a source entry as production does: its flags, then the bundle. */
export function bundleArgs(entry: string): string[] {
  return [...(NODE_FLAGS[entry] ?? []), bundleOf(entry)];
}

const BUILTINS = new Set(builtinModules);
const isBuiltin = (specifier: string) => specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0]!);

/** `./x`, `../x`: a relative import specifier from `fromDir` to `file`, with forward slashes. */
function importPath(fromDir: string, file: string): string {
  const path = relative(fromDir, file).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** Workspace code in the bundle, packages from node_modules beside it (see the top of this file). */
function workspaceOnly(outDir: string): Plugin {
  return {
    name: 'workspace-only',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (args.path.startsWith('@nst/') || args.pluginData === 'resolving') return undefined;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        // A workspace package's source (a subpath export) is bundled; anything else is imported.
        if (!resolved.path.includes(`${sep}node_modules${sep}`)) return { path: resolved.path };
        return { path: importPath(outDir, resolved.path), external: true };
      });
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const contents = source.replaceAll('import.meta.url', `new URL(${JSON.stringify(importPath(outDir, args.path))}, import.meta.url).href`);
        return { contents, loader: 'ts' };
      });
    },
  };
}

/**
 * Build every bundle into its package's `dist/` (emptied first: no chunk of an older build stays);
 * resolves with the entries' bundles (absolute). Throws on the first build error.
 *
 * Code is split at dynamic imports, so what a service loads on demand (the normalizer's parsers
 * for an inline parse, the CLI's commands) is a chunk of its own, loaded when it is used.
 */
export async function buildBundles(): Promise<string[]> {
  const built = await Promise.all(PACKAGES.map(async ({ dir, entries }) => {
    const outdir = `${ROOT}${dir}/dist`;
    await rm(outdir, { recursive: true, force: true });
    await build({
      entryPoints: Object.entries(entries).map(([name, source]) => ({ in: `${ROOT}${dir}/${source}`, out: name })),
      outdir,
      outExtension: { '.js': '.mjs' },
      chunkNames: '[name]-[hash]',
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'linked',
      legalComments: 'none',
      logLevel: 'error',
      // The normalizer's parse threads then start from the bundle written below (parse-thread-module.ts).
      define: { NST_BUNDLED: 'true' },
      plugins: [workspaceOnly(outdir)],
    });
    // The parse thread: everything in one CommonJS file, node_modules included (it is what the
    // normalizer otherwise builds when its first thread starts).
    if (dir === 'services/normalizer') {
      await build({ ...PARSE_THREAD_BUILD, entryPoints: [PARSE_THREAD_SOURCE], outfile: `${outdir}/parse-thread.cjs` });
    }
    return Object.keys(entries).map((name) => `${outdir}/${name}.mjs`);
  }));
  return built.flat();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const bundles = await buildBundles();
  process.stderr.write(`built ${bundles.length} bundles in ${Date.now() - started} ms: ${bundles.map((b) => relative(ROOT, b)).join(', ')}\n`);
}
