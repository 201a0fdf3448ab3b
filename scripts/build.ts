/**
 * `pnpm build`: each service (and the CLI) as one JavaScript file, `dist/main.mjs` beside its
 * `src/`, which production runs with plain `node` (the Dockerfile, the benchmark, the tests that
 * run the services as processes).
 *
 * Why: under `--import tsx` every service process starts a loader thread of its own and compiles
 * its TypeScript in memory; a normalizer at rest held about 158 MB, on its bundle 131.
 *
 * Only the workspace's own code is bundled, but for the packages a bundle names as `inline`
 * (scripts/bundles.ts: the CLI's, for its start-up time). Every other package from node_modules
 * stays a module of its own, imported by a path relative to the bundle (resolved from the
 * importing source file, as Node resolves it under tsx): packages that find files beside
 * themselves (native addons, pino's transport workers) load as they always do, and the checkout
 * can move as a whole. For the same reason `import.meta.url` in a source file becomes that
 * source file's URL, relative to the bundle: `new URL('../migrations/', import.meta.url)` still names the migrations folder
 * (so chunks stay in `dist/` itself, beside the entries, and a bundle cannot tell whether it is
 * the process's main module by comparing `import.meta.url` with `process.argv[1]`).
 *
 * Packages resolve as Node resolves them: the `import`/`node`/`default` conditions without
 * esbuild's extra `module`, and `main` only.
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { basename, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, stop, type Plugin } from 'esbuild';
import { PARSE_THREAD_BUILD, PARSE_THREAD_PREBUILT, PARSE_THREAD_SOURCE } from '../services/normalizer/src/parse-thread-module';
import { PACKAGES, ROOT } from './bundles';

/** `./x`, `../x`: a relative import specifier from `fromDir` to `file`, with forward slashes. */
function importPath(fromDir: string, file: string): string {
  const path = relative(fromDir, file).split(sep).join('/');
  return path.startsWith('.') ? path : `./${path}`;
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
const packageOf = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/**
 * Workspace code in the bundle, packages from node_modules beside it (see the top of this file),
 * but for `inline`: those packages, and everything they import, are bundled too.
 */
function workspaceOnly(outDir: string, inline: ReadonlySet<string>): Plugin {
  const inNodeModules = (path: string) => path.includes(`${sep}node_modules${sep}`);
  return {
    name: 'workspace-only',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (args.path.startsWith('@nst/') || args.pluginData === 'resolving') return undefined;
        // Only a bundled package's own imports come from node_modules here.
        const fromInlined = inNodeModules(args.importer);
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: 'resolving' });
        if (resolved.errors.length > 0) {
          // An optional dependency that is not installed (msgpackr's native extension, pg-native):
          // left to the package's own require, which expects it to fail.
          if (fromInlined) return { path: args.path, external: true };
          return { errors: resolved.errors };
        }
        // A workspace package's source (a subpath export) is bundled; anything else is imported.
        if (!inNodeModules(resolved.path)) return { path: resolved.path };
        if (fromInlined || inline.has(packageOf(args.path))) return { path: resolved.path };
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
 * Build every bundle into its package's `dist/`; resolves with the entries' bundles (absolute).
 * Throws on the first build error, leaving the `dist/` of the last build as it was.
 *
 * Each package is built into a new directory, which then replaces `dist/` by two renames: a
 * process starting meanwhile finds one whole build, and one already running from the last build
 * of the same sources still finds the chunks it loads later under the same (content-hashed)
 * names. Do not rebuild under running services after changing the sources.
 *
 * Code is split at dynamic imports, so what a service loads on demand (the normalizer's parsers
 * for an inline parse, the CLI's commands) is a chunk of its own, loaded when it is used.
 */
export async function buildBundles(): Promise<string[]> {
  try {
    const built = await Promise.all(PACKAGES.map(async ({ dir, entries, inline }) => {
      const outdir = `${ROOT}${dir}/dist`;
      const staging = `${outdir}.new-${process.pid}`;
      await rm(staging, { recursive: true, force: true });
      try {
        await build({
          entryPoints: Object.entries(entries).map(([name, source]) => ({ in: `${ROOT}${dir}/${source}`, out: name })),
          outdir: staging,
          outExtension: { '.js': '.mjs' },
          chunkNames: '[name]-[hash]',
          bundle: true,
          splitting: true,
          platform: 'node',
          format: 'esm',
          target: 'node20',
          conditions: [],
          mainFields: ['main'],
          // Maps for `NODE_OPTIONS=--enable-source-maps` (stacks in the sources' lines); the
          // bundles are not minified, and name their sources in comments, so stacks read without.
          sourcemap: 'linked',
          legalComments: 'none',
          logLevel: 'error',
          // The normalizer's parse threads then start from the bundle written below (parse-thread-module.ts).
          define: { NST_BUNDLED: 'true' },
          // Bundled CommonJS packages call `require` for Node's modules, which an ES module lacks.
          ...(inline ? { banner: { js: "import { createRequire as __nstCreateRequire } from 'node:module'; const require = __nstCreateRequire(import.meta.url);" } } : {}),
          // Paths are computed for `dist/`, where the files end up.
          plugins: [workspaceOnly(outdir, new Set(inline))],
        });
        // The parse thread: everything in one CommonJS file, node_modules included (it is what the
        // normalizer otherwise builds when its first thread starts).
        if (dir === 'services/normalizer') {
          await build({ ...PARSE_THREAD_BUILD, entryPoints: [PARSE_THREAD_SOURCE], outfile: `${staging}/${basename(PARSE_THREAD_PREBUILT)}` });
        }
        const old = `${outdir}.old-${process.pid}`;
        await rename(outdir, old).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
        await rename(staging, outdir);
        await rm(old, { recursive: true, force: true });
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      return Object.keys(entries).map((name) => `${outdir}/${name}.mjs`);
    }));
    return built.flat();
  } finally {
    // esbuild's service process (about 150 MB) would otherwise live as long as the caller: the
    // test runner, the bench.
    await stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = Date.now();
  const bundles = await buildBundles();
  process.stderr.write(`built ${bundles.length} bundles in ${Date.now() - started} ms: ${bundles.map((b) => relative(ROOT, b)).join(', ')}\n`);
}
