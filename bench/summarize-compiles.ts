/**
 * Summarise what TurboFan compiled in a run, from the services' output with V8's traces in it:
 * compilations and their wall time on the helper threads, the compilations again of a function
 * already compiled (after a deopt), and the deopts of our own code with where they happened.
 *
 *   BENCH_SERVICE_LOGS=/tmp/logs BENCH_NODE_ARGS='--trace-opt --trace-deopt' pnpm bench --only pipeline --n 200
 *   pnpm exec tsx bench/summarize-compiles.ts /tmp/logs/*.log [--top 10]
 *
 * A function is told apart by its shared function info (`sfi`): each isolate (the normalizer's
 * main thread and each parse thread) compiles its own. With `--trace-deopt-verbose` instead of
 * `--trace-deopt`, each deopt also says where in the bundle it happened.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

// A name may hold spaces (`get x`), or be absent (`<JSFunction (sfi = …)>`). Only TurboFan's
// compilations count; an on-stack replacement (OSR) is counted apart from the function's own.
const COMPILED = /\[completed compiling 0x[0-9a-f]+ <JSFunction (?:([^(]*?) )?\(sfi = (0x[0-9a-f]+)\)> \(target TURBOFAN\)( OSR)? - took [\d.]+, ([\d.]+), [\d.]+ ms\]/;
const DEOPT = /\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing 0x[0-9a-f]+ <JSFunction (?:([^(]*?) )?\(sfi/;
const WHERE = /;;; deoptimize at <([^>]+)>/;

function summarize(file: string, top: number): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  const byFunction = new Map<string, { name: string; times: number[] }>();
  const deopts = new Map<string, number>();
  let deoptCount = 0;
  lines.forEach((line, i) => {
    const compiled = COMPILED.exec(line);
    if (compiled) {
      const [, name, sfi, osr, ms] = compiled;
      const key = `${name}@${sfi}${osr ?? ''}`;
      const entry = byFunction.get(key) ?? { name: `${name ?? '(anonymous)'}${osr ? ' (OSR)' : ''}`, times: [] };
      entry.times.push(Number(ms));
      byFunction.set(key, entry);
      return;
    }
    const deopt = DEOPT.exec(line);
    if (!deopt) return;
    deoptCount += 1;
    // The place follows within a few lines (threads' output may interleave).
    const where = lines.slice(i + 1, i + 4).map((next) => WHERE.exec(next)?.[1]).find((found) => found !== undefined)?.replace(/^.*\//, '');
    const key = `${deopt[3] ?? '(anonymous)'}: ${deopt[2]}${where ? ` at ${where}` : ''}`;
    deopts.set(key, (deopts.get(key) ?? 0) + 1);
  });
  const entries = [...byFunction.values()];
  const total = entries.reduce((sum, e) => sum + e.times.reduce((a, b) => a + b, 0), 0);
  const again = entries.filter((e) => e.times.length > 1)
    .map((e) => ({ name: e.name, count: e.times.length, ms: e.times.slice(1).reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.ms - a.ms);
  const againMs = again.reduce((sum, e) => sum + e.ms, 0);
  const compilations = entries.reduce((sum, e) => sum + e.times.length, 0);
  console.log(`${basename(file)}: ${compilations} compilations, ${Math.round(total)} ms; ${again.reduce((sum, e) => sum + e.count - 1, 0)} again, ${Math.round(againMs)} ms; ${deoptCount} deopts`);
  for (const e of again.slice(0, top)) console.log(`  ${e.ms.toFixed(1).padStart(8)} ms  ${String(e.count).padStart(2)}×  ${e.name}`);
  // With places (--trace-deopt-verbose), those in our bundles; without, every function's.
  const placed = [...deopts].some(([key]) => key.includes(' at '));
  const listed = [...deopts].filter(([key]) => !placed || /main\.mjs|parse-thread\.cjs/.test(key)).sort((a, b) => b[1] - a[1]);
  if (listed.length > 0) console.log(placed ? '  deopts in our bundles:' : '  deopts (--trace-deopt-verbose says where):');
  for (const [key, count] of listed.slice(0, top)) console.log(`  ${String(count).padStart(4)}  ${key}`);
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '10' } }, allowPositionals: true });
if (positionals.length === 0) {
  console.error('usage: tsx bench/summarize-compiles.ts <service log>… [--top 10]');
  process.exit(2);
}
const top = Number(values.top);
if (!Number.isInteger(top) || top < 0) {
  console.error(`--top takes a whole number, not ${values.top}`);
  process.exit(2);
}
for (const file of positionals) summarize(file, top);
