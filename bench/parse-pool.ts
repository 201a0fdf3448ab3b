/**
 * Measure `parse-pool`: the normalizer's parse threads alone, as the service runs them (the pool's
 * default threads and young generation, 32 documents in flight as NORMALIZE_CONCURRENCY's default),
 * over the benchmark's synthetic articles handed over as the archive holds them (gzip, charset).
 * CPU per document over the whole process, split by thread: this process's main thread, the parse
 * threads, and the rest (V8's helper threads: parallel scavenges, concurrent marking, compiling).
 * No database, no queue, no other process: much steadier than the pipeline, which makes it the
 * measure to read a change of the parse or of its garbage collection by. This process runs without
 * the service's `--max-semi-space-size=6`, which sizes the threads' young generation too: run it
 * as `node --max-semi-space-size=6 --import tsx bench/run.ts --only parse-pool` to see them as
 * the service has them (4, the service's flag before, spent 4.8–4.9 ms of CPU a document where 6
 * spent 3.6–4.1, in alternating runs of a slow phase of the machine).
 */
import { readdirSync } from 'node:fs';
import { createParsePool, defaultParseThreads, unpackRecords, type ArchivedInput } from '@nst/normalizer';
import { loadSeeds } from '@nst/shared/seeds';
import { note, readCpuSeconds, report, round } from './harness';
import { archivedArticle, BENCH_HOST, benchArticles, generateBenchSite } from './site';

/** Documents in flight, as NORMALIZE_CONCURRENCY's default keeps them. */
const IN_FLIGHT = 32;

/** CPU seconds of each thread of this process, by thread id. */
function threadCpuSeconds(): Map<number, number> {
  return new Map(readdirSync('/proc/self/task').map((tid) => [Number(tid), readCpuSeconds(`self/task/${tid}`)]));
}

export async function measureParsePool(options: { n: number; rounds: number }): Promise<void> {
  const site = generateBenchSite(options.n);
  const fetchedAt = new Date();
  const inputs: ArchivedInput[] = benchArticles(site).map((article, i) => archivedArticle(article, i + 1, fetchedAt));
  const before = new Set(threadCpuSeconds().keys());
  const pool = createParsePool({ indicators: (await loadSeeds()).indicators, threads: defaultParseThreads() });
  try {
    // One pass to start the threads and warm their code up, not measured.
    await Promise.all(inputs.slice(0, IN_FLIGHT * 2).map((input) => pool.parse(input)));
    const parseThreads = [...threadCpuSeconds().keys()].filter((tid) => !before.has(tid));
    const documents = inputs.length * options.rounds;
    note(`parse-pool: ${pool.threads} thread(s), ${documents} documents (${inputs.length} articles of ${site.meanArticleBytes} bytes, ${options.rounds} rounds), ${IN_FLIGHT} in flight`);
    const cpuBefore = threadCpuSeconds();
    const started = performance.now();
    let next = 0;
    let records = 0;
    const lane = async () => {
      while (next < documents) {
        const input = inputs[next++ % inputs.length]!;
        // Turned back into objects, as the normalizer does with every reading it stores (a
        // reprocess without a parser change only hashes the text).
        const { observations, news, targetMentions, rejects } = unpackRecords(await pool.parse(input));
        records += observations.length + news.length + targetMentions.length + rejects.length;
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
    const seconds = (performance.now() - started) / 1000;
    const used = [...threadCpuSeconds()].map(([tid, cpu]) => [tid, cpu - (cpuBefore.get(tid) ?? 0)] as const);
    const sum = (keep: (tid: number) => boolean) => used.filter(([tid]) => keep(tid)).reduce((total, [, cpu]) => total + cpu, 0);
    const total = sum(() => true);
    const main = sum((tid) => tid === process.pid);
    const threads = sum((tid) => parseThreads.includes(tid));
    report({
      measure: 'parse-pool',
      host: BENCH_HOST,
      threads: pool.threads,
      documents,
      records,
      seconds: round(seconds, 2),
      documentsPerSecond: round(documents / seconds),
      cpuMsPerDocument: round((total * 1000) / documents, 3),
      // Parse threads: the parse itself and its share of each scavenge; other: mostly V8's helpers.
      cpuSeconds: { main: round(main, 2), parseThreads: round(threads, 2), other: round(total - main - threads, 2) },
    });
  } finally {
    await pool.close();
  }
}
