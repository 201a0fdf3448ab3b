/**
 * The code a parse thread runs: parse-worker-thread.ts and everything it imports, bundled by
 * esbuild into one CommonJS file, once per process, when the pool starts its first thread.
 *
 * Why not run the TypeScript through tsx as the main thread does: tsx in a worker thread (from the
 * inherited `--import tsx`, or registered by hand) starts a loader thread of its own, which compiles
 * every module again. A parse thread then held about 75 MB at rest; on the bundle, started without
 * loaders (parse-pool.ts, threadExecArgv), about 25, and it starts without compiling anything.
 * The bundle is built from the source this process runs: never older than the parsers.
 *
 * Ways measured to cost more, each against this one: building in this process (esbuild's
 * synchronous API keeps a worker thread: +80 MB), loading the bundle as a `data:` module (+75 MB a
 * thread), evaluating it as a string (+60 MB at the benchmark's peak). So esbuild runs in a child
 * process and the bundle is a file, in a directory of this process's own (mode 0700), removed when
 * the process exits; what a killed process left behind is removed by the next one to start.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Run by `node -e` in the child: argv[1] esbuild's entry, argv[2] the thread's source; the bundle goes to stdout. */
const BUILD = `
const [, esbuild, entry] = process.argv;
const { outputFiles } = require(esbuild).buildSync({
  entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node20',
  write: false, legalComments: 'none', logLevel: 'error',
});
process.stdout.write(outputFiles[0].contents);
`;

const PREFIX = 'nst-parse-thread-';

let bundle: { code: Buffer; file?: string } | undefined;

/**
 * The path of the bundled parse thread, for `new Worker(path)`. Built on the first call (about half
 * a second); written again, in a new directory, should something have removed it since.
 */
export function parseThreadFile(): string {
  if (!bundle) {
    const esbuild = createRequire(import.meta.url).resolve('esbuild');
    const entry = fileURLToPath(new URL('./parse-worker-thread.ts', import.meta.url));
    bundle = { code: execFileSync(process.execPath, ['-e', BUILD, esbuild, entry], { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] }) };
    removeLeftovers();
  }
  if (bundle.file === undefined || !existsSync(bundle.file)) {
    // A new directory every time (never one found at a known name, which someone else could own).
    const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'parse-thread.cjs'), bundle.code);
    bundle.file = join(dir, 'parse-thread.cjs');
  }
  return bundle.file;
}

/** The directories of processes that are gone (killed before they could remove their own). */
function removeLeftovers(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1] ?? Number.NaN);
    if (Number.isNaN(pid) || pid === process.pid || isAlive(pid)) continue;
    // Another user's directory is theirs to remove: this one can't, and moves on.
    rmSync(join(tmpdir(), name), { recursive: true, force: true, maxRetries: 0 });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, and someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
