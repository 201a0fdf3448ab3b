/**
 * Measure 3, `reprocess`: `nst reprocess` (the real CLI, as a process) of everything the pipeline
 * measure archived, handed to the running normalizer service; documents per second from starting
 * the command until every queue is drained again (normalize and the aggregates it triggers).
 * `full`: `nst reprocess --full`, every document stored again whatever its records digest says
 * (the cost of a reprocess after a parser change, when every digest differs).
 */
import { spawn } from 'node:child_process';
import { note, report, ROOT, round, startCpuWindow, waitForDrain } from './harness';
import type { PipelineRun } from './pipeline';
import { bundleArgs } from '../scripts/bundles';

/**
 * `measureCeiling`: the parse measure, taken just before and just after (once the queues drained):
 * documents/s over the fixture corpus (the ceiling) and over the benchmark's own article,
 * the documents reprocessed here. The ratios are to the mean of the two.
 */
export async function measureReprocess(run: PipelineRun, options: { timeoutMs: number; redisUrl: string; full?: boolean;
  measureCeiling: () => Promise<{ documentsPerSecond: number; syntheticPerSecond: number }>; }): Promise<void> {
  const ceilingBefore = await options.measureCeiling();
  const { rows } = await run.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM raw.document WHERE role = 'document'");
  const documents = rows[0]!.n;
  const cpu = await startCpuWindow(run.services, run.db.pool);
  const started = performance.now();
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [...bundleArgs('packages/cli/src/main.ts'), 'reprocess', ...(options.full ? ['--full'] : [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATABASE_URL: run.db.url, REDIS_URL: options.redisUrl, NST_QUEUE_PREFIX: run.redis.prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`nst reprocess exited with ${code}: ${output.slice(-2000)}`);
  const enqueuedAt = performance.now();
  const drained = await waitForDrain(run.redis.queues, { timeoutMs: options.timeoutMs, label: `reprocess${options.full ? ' --full' : ''} n=${run.n}` });
  const seconds = (drained - started) / 1000;
  const { cpuSeconds, postgresByService, machineCpu } = await cpu.stop();
  // When the normalizer started the first of these jobs (BullMQ keeps the completed ones): what
  // the command's start-up and first round trip cost the measure.
  const done = await run.redis.queues.normalize.getJobs(['completed']);
  const starts = done.filter((job) => job.id?.startsWith('reprocess|') && (job.processedOn ?? 0) >= spawnedAt).map((job) => job.processedOn!);
  const firstJobSeconds = starts.length > 0 ? round((Math.min(...starts) - spawnedAt) / 1000, 2) : null;
  note(`reprocess: ${output.trim().split('\n').at(-1)} (enqueued in ${round((enqueuedAt - started) / 1000, 2)} s)`);
  const documentsPerSecond = round(documents / seconds);
  const ceilings = [ceilingBefore, await options.measureCeiling()];
  const mean = (pick: (c: (typeof ceilings)[number]) => number) => ceilings.reduce((sum, c) => sum + pick(c), 0) / ceilings.length;
  const parseCeiling = mean((c) => c.documentsPerSecond);
  const articleCeiling = mean((c) => c.syntheticPerSecond);
  report({
    measure: 'reprocess',
    mode: options.full ? 'full' : 'digest',
    n: run.n,
    documents,
    seconds: round(seconds, 2),
    documentsPerSecond,
    firstJobSeconds,
    parseCeiling: ceilings.map((c) => c.documentsPerSecond),
    ofParseCeiling: round(documentsPerSecond / parseCeiling, 2),
    ofArticleParse: round(documentsPerSecond / articleCeiling, 2),
    peakRssMb: Object.fromEntries(run.services.map((service) => [service.stage, service.peakRssMb()])),
    cpuSeconds,
    postgresByService,
    // `elsewhereSeconds` includes the `nst reprocess` command's own process.
    machineCpu,
  });
}
