/**
 * `pnpm bench`: the performance harness. Prints one JSON line per measure on stdout, after one
 * line describing the machine (progress on stderr); see the README's "Performance" section for the
 * figures of the reference machine.
 *
 *   pnpm bench                                   # parse, parse-pool, store, pipeline (n=50, 200), reprocess, polite, aggregate (10k, 1M)
 *   pnpm bench --only parse,aggregate            # some measures
 *   pnpm bench --only parse-pool                 # the parse threads alone: CPU per document, by thread
 *   pnpm bench --only store                      # the store transactions alone: CPU per document, here and in PostgreSQL
 *   pnpm bench --n 50 --observations 10000       # other sizes
 *   pnpm bench --only polite --polite-delay-ms 50 # politeness on, over six hosts: the crawl against the delays' bound
 *   pnpm bench --only pipeline --n 200 --profile # services started with --cpu-prof (bench-out/profiles/<stage>/)
 *   pnpm bench --only pipeline --n 50 --keep     # keep the database to look into it (its URL is printed)
 *   pnpm bench --compare HEAD~3 --pairs 3 --only pipeline --n 200   # that commit and this checkout, alternately
 *
 * Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL; the same defaults as the services). Every
 * run works in a database and a Redis prefix of its own, dropped at the end.
 */
import { parseArgs } from 'node:util';
import { measureAggregate } from './aggregate';
import { compareWith } from './compare';
import { buildBundles } from '../scripts/build';
import { note, report, round, runPendingCleanups, type BenchConfig } from './harness';
import { describeMachine } from './machine';
import { measureParse } from './parse';
import { measureParsePool } from './parse-pool';
import { measureStore } from './store';
import { measurePipeline, startPipelineRun } from './pipeline';
import { measurePolite } from './polite';
import { measureReprocess } from './reprocess';

const MEASURES = ['parse', 'parse-pool', 'store', 'pipeline', 'reprocess', 'polite', 'aggregate'] as const;
type Measure = (typeof MEASURES)[number];

const list = (value: string) => value.split(',').map((part) => part.trim()).filter(Boolean);

async function main(): Promise<void> {
  const { values, tokens } = parseArgs({
    tokens: true,
    options: {
      only: { type: 'string', default: MEASURES.join(',') },
      n: { type: 'string', default: '50,200' },
      observations: { type: 'string', default: '10000,1000000' },
      'parse-seconds': { type: 'string', default: '5' },
      repeats: { type: 'string', default: '9' },
      'timeout-seconds': { type: 'string', default: '300' },
      'polite-delay-ms': { type: 'string', default: '100' },
      profile: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      compare: { type: 'string' },
      pairs: { type: 'string', default: '3' },
    },
  });
  if (values.compare) {
    // Each side runs `pnpm bench` with the measures, sizes and switches given here, and only those:
    // the other commit may not know an option added since (its defaults apply on each side).
    const benchArgs = tokens.flatMap((token) =>
      token.kind !== 'option' || token.name === 'compare' || token.name === 'pairs' ? [] : token.value === undefined ? [`--${token.name}`] : [`--${token.name}`, token.value],
    );
    await compareWith({ rev: values.compare, pairs: Number(values.pairs), benchArgs });
    return;
  }
  const only = new Set(list(values.only!) as Measure[]);
  for (const measure of only) if (!MEASURES.includes(measure)) throw new Error(`unknown measure "${measure}" (one of ${MEASURES.join(', ')})`);
  const config: BenchConfig = {
    databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    profile: values.profile!,
    keep: values.keep!,
  };
  const timeoutMs = Number(values['timeout-seconds']) * 1000;
  const started = performance.now();
  // First, what the figures are taken on (the servers' versions where a measure uses them).
  const usesServers = [...only].some((measure) => measure !== 'parse' && measure !== 'parse-pool');
  report(await describeMachine(usesServers ? config : null));

  // The services and the CLI run from their bundles, as the Dockerfile runs them: built from
  // these sources now, so a measure never runs an older build.
  const runsServices = only.has('pipeline') || only.has('reprocess') || only.has('polite');
  if (runsServices) {
    const bundles = await buildBundles();
    note(`built ${bundles.length} bundles in ${round((performance.now() - started) / 1000, 1)} s`);
  }
  if (only.has('parse')) await measureParse({ seconds: Number(values['parse-seconds']) });
  // 1,000 articles, four times over: about 4,000 parses, as many as the pipeline's N = 200.
  if (only.has('parse-pool')) await measureParsePool({ n: 50, rounds: 4 });
  // The 4,000 articles of the N = 200 pipeline, in transactions of 14 documents (its mean batch).
  if (only.has('store')) await measureStore(config, { n: 200, batch: 14 });

  if (only.has('pipeline') || only.has('reprocess')) {
    const sizes = list(values.n!).map(Number);
    for (const [index, n] of sizes.entries()) {
      const run = await startPipelineRun(n, config);
      try {
        await measurePipeline(run, { timeoutMs });
        // Reprocess re-reads the archive of the largest run, with its services still up.
        if (only.has('reprocess') && index === sizes.length - 1) {
          // As after a deploy without a parser change (digests equal), then as after one (every document stored again).
          // The ceiling is measured again right before and right after each reprocess, with the
          // services idle, and the ratio taken to their mean: this machine's speed drifts by a
          // quarter within minutes, so a ceiling taken once, before the pipeline measure, made the
          // ratio a measure of the drift as much as of the reprocess.
          const measureCeiling = () => measureParse({ seconds: Math.max(2, Number(values['parse-seconds']) / 2), report: false });
          for (const full of [false, true]) await measureReprocess(run, { timeoutMs, redisUrl: config.redisUrl, full, measureCeiling });
        }
      } finally {
        await run.close();
      }
    }
  }

  // Politeness on, over hosts of their own: how close the crawl comes to what the delays allow.
  if (only.has('polite')) await measurePolite(config, { minDelayMs: Number(values['polite-delay-ms']), timeoutMs });

  if (only.has('aggregate')) await measureAggregate(config, { sizes: list(values.observations!).map(Number), repeats: Number(values.repeats) });
  note(`done in ${Math.round((performance.now() - started) / 1000)} s`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    note(`${signal}: stopping the services, dropping the bench database`);
    void runPendingCleanups().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
}
