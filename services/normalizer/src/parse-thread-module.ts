/**
 * The code a parse thread runs: parse-worker-thread.ts and everything it imports, bundled by
 * esbuild into one CommonJS file, once per process, when the pool starts its first thread.
 *
 * Why not run the TypeScript through tsx as the main thread does: tsx in a worker thread (from the
 * inherited `--import tsx`, or registered by hand) starts a loader thread of its own, which compiles
 * every module again. A parse thread then held about 75 MB at rest; on the bundle, started without
 * loaders (parse-pool.ts, threadExecArgv), about 25, and it starts without compiling anything.
 * The bundle is built from the source this process runs: never older than the parsers (run from
 * its bundle, the service uses the thread's bundle of the same build; see below).
 *
 * Ways measured to cost more, each against this one: building in this process (esbuild's
 * synchronous API keeps a worker thread: +80 MB), loading the bundle as a `data:` module (+75 MB a
 * thread), evaluating it as a string (+60 MB at the benchmark's peak). So esbuild runs in a child
 * process, and each thread starts from a file written for it alone into a new directory (mode
 * 0700) of the temporary directory, which the pool removes as soon as the thread has loaded it:
 * nothing stays behind, whoever owns the temporary directory and however the process ends after.
 *
 * A normalizer run from its bundle (`pnpm build`, as the Dockerfile runs it) does none of this:
 * the build wrote the thread's bundle beside the service's, from the same sources, and every thread
 * starts from that file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The thread's source: what the bundle is built from. */
export const PARSE_THREAD_SOURCE = fileURLToPath(new URL('./parse-worker-thread.ts', import.meta.url));

/**
 * esbuild's options for the thread's bundle, here and in `pnpm build` (scripts/build.ts). Blanks
 * and syntax are minified, names kept (a stack still names its functions): each thread holds the
 * source it runs, about 3 MB less a thread (4.1 → 2.9 MB of source).
 */
export const PARSE_THREAD_BUILD = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', legalComments: 'none', logLevel: 'error', minifyWhitespace: true, minifySyntax: true,
} as const;

/** Run by `node -e` in the child: argv[1] esbuild's entry, argv[2] the thread's source, argv[3] the options; the bundle goes to stdout. */
const BUILD = `
const [, esbuild, entry, options] = process.argv;
const { outputFiles } = require(esbuild).buildSync({ ...JSON.parse(options), entryPoints: [entry], write: false });
process.stdout.write(outputFiles[0].contents);
`;

/** Defined (true) by `pnpm build` in the service's bundle; undeclared when the sources run through tsx. */
declare const NST_BUNDLED: true | undefined;

/** The thread's bundle that `pnpm build` writes beside the service's (this file is in `src/`, the bundles in `dist/`). */
export const PARSE_THREAD_PREBUILT = fileURLToPath(new URL('../dist/parse-thread.cjs', import.meta.url));

let code: Buffer | undefined;

/** A copy of the bundled parse thread, for one `new Worker(file)`. */
export interface ParseThreadFile {
  file: string;
  /** Remove the copy (once the thread has loaded it, or failed to). Never throws. */
  remove(): void;
}

/**
 * Write the bundled parse thread for one thread to start from. The bundle is built on the first
 * call (about half a second); a build or write that fails throws, and the next call tries again.
 * Run from the service's bundle: the thread's bundle of that build, nothing written.
 */
export function writeParseThread(): ParseThreadFile {
  if (typeof NST_BUNDLED !== 'undefined') return { file: PARSE_THREAD_PREBUILT, remove: () => {} };
  if (!code) {
    const esbuild = createRequire(import.meta.url).resolve('esbuild');
    code = execFileSync(process.execPath, ['-e', BUILD, esbuild, PARSE_THREAD_SOURCE, JSON.stringify(PARSE_THREAD_BUILD)],
      { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  const dir = mkdtempSync(join(tmpdir(), 'nst-parse-thread-'));
  const remove = () => {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Already gone, or not ours to remove any more: nothing to do about it here.
    }
  };
  try {
    const file = join(dir, 'parse-thread.cjs');
    writeFileSync(file, code);
    return { file, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
