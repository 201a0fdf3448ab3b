/**
 * Summarise `.cpuprofile` files written by `pnpm bench --profile`: where the time went, by
 * function (self time) and by package/file (self time), so a profile can be read in a terminal.
 *
 *   pnpm exec tsx bench/summarize-profile.ts bench-out/profiles/normalizer/*.cpuprofile [--top 25]
 *     [--focus parseDocument,storeDocuments]   # time with these functions on the stack (synchronous parts)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** `node_modules/.pnpm/cheerio@1.2.0/node_modules/cheerio/…` → `cheerio`; project files keep their path. */
function where(url: string): string {
  if (!url) return '(native)';
  const modules = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const project = /\/work\/main\/(.+)$/.exec(url.replace(/^file:\/\//, ''));
  if (project) return project[1]!;
  return url.replace(/^node:/, 'node:');
}

function summarize(file: string, top: number, focus: readonly string[]): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = (profile.endTime - profile.startTime) / 1000;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, micros] of self) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName || '(anonymous)';
    const place = where(node.callFrame.url);
    const key = `${name}  ${place}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros / 1000);
    byFile.set(place, (byFile.get(place) ?? 0) + micros / 1000);
  }
  const idle = [...self].filter(([id]) => ['(idle)', '(program)', '(garbage collector)'].includes(byId.get(id)!.callFrame.functionName))
    .map(([id, micros]) => `${byId.get(id)!.callFrame.functionName} ${Math.round(micros / 1000)} ms`);
  const print = (title: string, entries: Map<string, number>, limit = top) => {
    console.log(`  ${title}`);
    for (const [key, ms] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
      console.log(`    ${ms.toFixed(0).padStart(7)} ms ${((ms / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
    }
  };
  console.log(`${file}: ${Math.round(total)} ms profiled (${idle.join(', ')})`);
  print('self time by package / file', byFile);
  print('self time by function', byFunction);
  if (focus.length > 0) {
    const inclusive = new Map<string, number>(focus.map((name) => [name, 0]));
    profile.samples.forEach((id, i) => {
      const seen = new Set<string>();
      for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
        const name = byId.get(node)!.callFrame.functionName;
        if (inclusive.has(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, inclusive.get(name)! + (profile.timeDeltas[i] ?? 0) / 1000);
        }
      }
    });
    print('time with the function on the stack', inclusive, focus.length);
  }
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, focus: { type: 'string', default: '' } } });
for (const file of positionals) summarize(file, Number(values.top), values.focus!.split(',').filter(Boolean));
