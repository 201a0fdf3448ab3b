/**
 * `pnpm bench --compare <rev>`: the same measures on another commit and on this checkout, run
 * alternately in pairs. This machine's speed drifts by 15–30 % within minutes, so a figure only
 * compares with one taken beside it; each pair is one run of each side, the first side alternating
 * from pair to pair, and the summary gives each pair's ratio.
 *
 * The other commit runs from a git worktree in a temporary directory, with its own dependencies
 * installed from the lock file (from pnpm's store when it can, offline), removed at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { note, report, ROOT, round, whenInterrupted } from './harness';

export interface CompareOptions {
  /** The commit to compare with (anything `git rev-parse` takes). */
  rev: string;
  /** Pairs of runs; default 3. */
  pairs: number;
  /** The arguments each side's `pnpm bench` gets (measures and sizes). */
  benchArgs: readonly string[];
}

type Line = Record<string, unknown> & { measure: string };

/** Run a command, passing its stderr through; resolves with its stdout, rejects on a non-zero exit. */
function run(command: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) exited with ${code}`))));
  });
}

/** What identifies a measure's line across runs: `pipeline n=200`, `reprocess full`, `aggregate 1000000 observations`. */
function labelOf(line: Line): string {
  if (line.measure === 'pipeline') return `pipeline n=${String(line.n)}`;
  if (line.measure === 'reprocess') return `reprocess ${String(line.mode)}`;
  if (line.measure === 'aggregate') return `aggregate ${String(line.observations)} observations`;
  return line.measure;
}

/** The figures a pair is judged by, per measure (higher is better unless the name says ms). */
const FIGURES: Readonly<Record<string, readonly string[]>> = {
  parse: ['documentsPerSecond'],
  pipeline: ['pagesPerSecond', 'cpuMsPerPage'],
  reprocess: ['documentsPerSecond', 'ofParseCeiling'],
  aggregate: ['latencyMs'],
};

export async function compareWith(options: CompareOptions): Promise<void> {
  const commit = (await run('git', ['rev-parse', '--verify', `${options.rev}^{commit}`], ROOT)).trim();
  const dir = mkdtempSync(join(tmpdir(), 'nst-bench-compare-'));
  note(`compare: ${options.rev} (${commit.slice(0, 12)}) in ${dir}`);
  const remove = whenInterrupted(async () => {
    await run('git', ['worktree', 'remove', '--force', dir], ROOT).catch((error: Error) => note(`compare: could not remove ${dir}: ${error.message}`));
  });
  try {
    await run('git', ['worktree', 'add', '--detach', dir, commit], ROOT);
    await run('pnpm', ['install', '--frozen-lockfile', '--offline'], dir).catch(() => run('pnpm', ['install', '--frozen-lockfile'], dir));
    const sides = [{ side: 'before', cwd: dir }, { side: 'now', cwd: ROOT }] as const;
    const figures = new Map<string, { before: Line[]; now: Line[] }>();
    for (let pair = 1; pair <= options.pairs; pair += 1) {
      // The first side alternates: a drift within a pair does not always favour the same side.
      for (const { side, cwd } of pair % 2 === 1 ? sides : [...sides].reverse()) {
        note(`compare: pair ${pair} of ${options.pairs}, ${side}`);
        const stdout = await run('pnpm', ['bench', ...options.benchArgs], cwd);
        for (const text of stdout.split('\n').filter((line) => line.startsWith('{'))) {
          const line = JSON.parse(text) as Line;
          report({ compare: options.rev, pair, side, ...line });
          const entry = figures.get(labelOf(line)) ?? { before: [], now: [] };
          entry[side].push(line);
          figures.set(labelOf(line), entry);
        }
      }
    }
    for (const [label, { before, now }] of figures) {
      const measure = label.split(' ')[0]!;
      for (const figure of FIGURES[measure] ?? []) {
        const values = (lines: Line[]) => lines.map((line) => (typeof line[figure] === 'number' ? (line[figure] as number) : null));
        const [b, n] = [values(before), values(now)];
        report({
          measure: 'compare',
          of: label,
          figure,
          rev: options.rev,
          before: b,
          now: n,
          // now ÷ before, pair by pair: > 1 is better for rates, worse for times (…Ms, …MsPerPage).
          ratios: b.map((value, i) => (value && n[i] ? round(n[i]! / value, 3) : null)),
        });
      }
    }
  } finally {
    await remove();
  }
}
