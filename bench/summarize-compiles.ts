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

const COMPILED = /\[completed compiling 0x[0-9a-f]+ <JSFunction (?:(\S+) )?\(sfi = (0x[0-9a-f]+)\)>.*? - took [\d.]+, ([\d.]+), [\d.]+ ms\]/;
const DEOPT = /\[bailout \(kind: ([^,]+), reason: ([^)]*)\): begin\. deoptimizing 0x[0-9a-f]+ <JSFunction (?:(\S+) )?\(sfi/;
const WHERE = /;;; deoptimize at <([^>]+)>/;

function summarize(file: string, top: number): void {
  const lines = readFileSync(file, 'utf8').split('\n');
  const byFunction = new Map<string, { name: string; times: number[] }>();
  const deopts = new Map<string, number>();
  let deoptCount = 0;
  lines.forEach((line, i) => {
    const compiled = COMPILED.exec(line);
    if (compiled) {
      const [, name, sfi, ms] = compiled;
      const key = `${name}@${sfi}`;
      const entry = byFunction.get(key) ?? { name: name ?? '(anonymous)', times: [] };
      entry.times.push(Number(ms));
      byFunction.set(key, entry);
      return;
    }
    const deopt = DEOPT.exec(line);
    if (!deopt) return;
    deoptCount += 1;
    const where = WHERE.exec(lines[i + 1] ?? '')?.[1]?.replace(/^.*\//, '');
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
  const ours = [...deopts].filter(([key]) => /main\.mjs|parse-thread\.cjs/.test(key)).sort((a, b) => b[1] - a[1]);
  if (ours.length > 0) console.log('  deopts in our bundles:');
  for (const [key, count] of ours.slice(0, top)) console.log(`  ${String(count).padStart(4)}  ${key}`);
}

const { values, positionals } = parseArgs({ options: { top: { type: 'string', default: '10' } }, allowPositionals: true });
if (positionals.length === 0) {
  console.error('usage: tsx bench/summarize-compiles.ts <service log>… [--top 10]');
  process.exit(2);
}
for (const file of positionals) summarize(file, Number(values.top));
