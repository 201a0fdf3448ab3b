/**
 * Parsing off the main thread. Parsing is CPU-bound (~1.5 ms per 20 KB page); on the main thread
 * it leaves the second core idle while the jobs' database and Redis work waits behind it. The pool
 * runs `parseDocument` in worker threads (parse-worker-thread.ts) and gives back the same results
 * and the same typed errors as the inline call.
 *
 * Each thread parses one document at a time and holds at most one more, sent while it parses, so
 * that it never waits for the main thread between two documents. Documents wait in one queue and go
 * to whichever thread has room first, so a slow document holds up at most the one queued on its
 * thread while another thread could take the rest.
 *
 * A parse that runs past `parseTimeoutMs`, or whose thread dies (out of memory, a crash), is
 * rejected as `unreadable_document` and its thread replaced: a hostile document must not hold or
 * crash the service. Documents still queued did nothing wrong; they wait for the next free thread.
 */
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { NonRetryableError } from '@nst/shared/errors';
import type { Indicator } from '@nst/shared/seeds';
import type { ArchivedInput } from './archived-input';
import { buildIndicatorCatalog, type IndicatorCatalog } from './indicators';
import { writeParseThread } from './parse-thread-module';
import type { ParseFailure, ParseRequest, ParseWorkerData, ThreadMessage } from './parse-worker-thread';
import type { ParseInput, ParseResult } from './records';

export interface ParsePoolOptions {
  indicators: readonly Indicator[];
  /** Worker threads, at most; 0 parses inline on the calling thread (tests, the CLI). */
  threads: number;
  /**
   * Threads kept running (default `threads`: a fixed pool). Between `minThreads` and `threads`,
   * the pool grows by a thread when documents have waited for a free thread without a break for
   * `growAfterMs`, and a thread above `minThreads` that has had nothing to parse for `idleMs` stops.
   */
  minThreads?: number;
  /** Default 500. */
  growAfterMs?: number;
  /**
   * Idle CPU the machine must have had over that wait, in cores (os.cpus), for the pool to grow:
   * a thread more only parses faster on a core nobody else uses. Default 0.5.
   */
  minIdleCores?: number;
  /** Default 30 000. */
  idleMs?: number;
  /** Told when the pool grows or shrinks between its bounds (the service logs it). */
  onResize?: (change: { running: number; reason: 'backlog' | 'idle' }) => void;
  /** A parse running longer is rejected as `unreadable_document` and its thread replaced. Default 60 000. */
  parseTimeoutMs?: number;
  /** Heap (V8 old generation) of each thread; a parse that exhausts it fails as `unreadable_document`. Default 512. */
  maxOldGenerationSizeMb?: number;
  /**
   * Young generation of each thread, where a parse's garbage is born and dies. Default 16: two
   * threads parsing the benchmark's 20 KB articles spent 2.23 ms of CPU a document with 16 MB,
   * 2.91 with 8 and 2.23–2.28 with 24 (`pnpm bench --only parse-pool`; README "Performance").
   * A process-wide `--max-semi-space-size` sizes it whatever this asks: under the service's 6 MB
   * (scripts/bundles.ts) the threads have 6 MB semi-spaces, as the main thread has.
   */
  maxYoungGenerationSizeMb?: number;
  /** Let `test:` URLs misbehave in the threads (see parse-worker-thread.ts). Tests only. */
  testHooks?: boolean;
}

export interface ParsePool {
  /**
   * `parseDocument` with the pool's catalog: the same result, or the same typed error. An archived
   * input is unpacked by the thread (inputFromArchive), so the main thread neither inflates nor decodes.
   */
  parse(input: ParseInput | ArchivedInput): Promise<ParseResult>;
  /** Terminates the threads; parses not answered yet reject with a ParsePoolError. */
  close(): Promise<void>;
  /** Threads at most (0: inline). */
  readonly threads: number;
  /** Threads running now, starting ones included. */
  readonly running: number;
}

/**
 * A parse the pool could not run (closed, or no thread would start). Not the document's fault: a
 * caller retries it rather than recording the document as unreadable.
 */
export class ParsePoolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ParsePoolError';
  }
}

/**
 * What the pool's threads do, on the calling thread: an archived input is unpacked first. The
 * parsers are loaded on the first call: a normalizer whose threads parse never holds them (cheerio,
 * exceljs, the charset tables) on its main thread.
 */
export async function parseInline(input: ParseInput | ArchivedInput, catalog: IndicatorCatalog): Promise<ParseResult> {
  const [{ parseDocument }, { inputFromArchive }] = await Promise.all([import('./parsers/index'), import('./archived-input')]);
  return parseDocument('bodyGzip' in input ? inputFromArchive(input) : input, catalog);
}

/**
 * Two threads at most when the machine has a second core, else inline. A reprocess without a
 * parser change is parsing, and the main thread waits on it: on two cores a second thread makes
 * it about a sixth faster (pnpm bench: 834–936 against 740–756 documents/s), for about 50 MB more
 * (the normalizer at 253–260 MB). In a backfill the fetcher, PostgreSQL and the store keep both
 * cores busy, and a second thread only takes CPU from them (240.6–244.5 against 245.7–257.0
 * pages/s): the service keeps one (NORMALIZE_PARSE_THREADS_MIN) and starts the second when
 * documents wait for a parse and a core is idle (ParsePoolOptions.minThreads). More threads would
 * add memory, not speed, on the two cores this is sized for; NORMALIZE_PARSE_THREADS sets another count.
 */
export function defaultParseThreads(): number {
  return availableParallelism() > 1 ? 2 : 0;
}

export function createParsePool(options: ParsePoolOptions): ParsePool {
  if (!Number.isInteger(options.threads) || options.threads < 0) throw new RangeError(`threads must be a whole number ≥ 0, not ${options.threads}`);
  if (options.minThreads !== undefined && (!Number.isInteger(options.minThreads) || options.minThreads < 0 || options.minThreads > options.threads)) {
    throw new RangeError(`minThreads must be a whole number from 0 to threads (${options.threads}), not ${options.minThreads}`);
  }
  if (options.threads > 0) return new ThreadPool(options);
  const catalog = buildIndicatorCatalog(options.indicators);
  return { threads: 0, running: 0, parse: (input) => parseInline(input, catalog), close: async () => undefined };
}

/**
 * The Node options a parse thread runs with: the process's profiling options (`--cpu-prof` of
 * `pnpm bench --profile`), nothing else. Left to inherit them all, a thread would also load tsx
 * (`--import tsx`), starting the loader thread the bundle is there to avoid; and V8's flags are
 * the process's own, which a Worker refuses to be given. (A loader put in NODE_OPTIONS still
 * reaches the threads: it costs them memory, nothing else.)
 */
function threadExecArgv(): string[] {
  const kept: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i += 1) {
    const option = argv[i]!;
    if (!/^--(?:cpu|heap)-prof(?:-[a-z]+)?(?:=|$)/.test(option)) continue;
    kept.push(option);
    // `--cpu-prof-dir dir`: the value is the next argument.
    if (/^--(?:cpu|heap)-prof-(?:dir|name|interval)$/.test(option) && i + 1 < argv.length) kept.push(argv[(i += 1)]!);
  }
  return kept;
}

/** The machine's idle CPU time so far, in ms summed over its cores. */
function machineIdleMs(): number {
  return cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0);
}

interface Task {
  id: number;
  input: ParseInput | ArchivedInput;
  resolve: (result: ParseResult) => void;
  reject: (error: Error) => void;
}

/** Parses a thread holds: the one it runs and the next one. */
const DEPTH = 2;

interface Thread {
  worker: Worker;
  /** Modules loaded and catalog built: what is sent from now on is timed. */
  ready: boolean;
  /** The parses sent, in order: the first is running, and timed by `timer`. */
  tasks: Task[];
  /** Remove the copy of the bundle the thread starts from (once it is ready, or gone). */
  removeBundle: () => void;
  timer?: NodeJS.Timeout;
  /** Stops the thread once it has been idle for `idleMs` (set while it has nothing and the pool is above its minimum). */
  idle?: NodeJS.Timeout;
}

class ThreadPool implements ParsePool {
  readonly threads: number;
  private readonly minThreads: number;
  private readonly growAfterMs: number;
  private readonly idleMs: number;
  private readonly minIdleCores: number;
  private readonly onResize: ParsePoolOptions['onResize'];
  private readonly parseTimeoutMs: number;
  private readonly maxOldGenerationSizeMb: number;
  private readonly maxYoungGenerationSizeMb: number;
  private readonly workerData: ParseWorkerData;
  private readonly live = new Set<Thread>();
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;
  /** Since when documents have waited for a free ready thread without a break, and the machine's idle CPU time then; undefined while none waits. */
  private backlog: { since: number; idleMs: number } | undefined;
  private growTimer: NodeJS.Timeout | undefined;

  constructor(options: ParsePoolOptions) {
    this.threads = options.threads;
    this.minThreads = options.minThreads ?? options.threads;
    this.growAfterMs = options.growAfterMs ?? 300;
    this.minIdleCores = options.minIdleCores ?? 0.15;
    this.idleMs = options.idleMs ?? 30_000;
    this.onResize = options.onResize;
    this.parseTimeoutMs = options.parseTimeoutMs ?? 60_000;
    this.maxOldGenerationSizeMb = options.maxOldGenerationSizeMb ?? 512;
    this.maxYoungGenerationSizeMb = options.maxYoungGenerationSizeMb ?? 16;
    this.workerData = { indicators: options.indicators, ...(options.testHooks ? { testHooks: true } : {}) };
    this.dispatch();
  }

  parse(input: ParseInput | ArchivedInput): Promise<ParseResult> {
    if (this.closed) return Promise.reject(new ParsePoolError('parse pool closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, resolve, reject });
      this.dispatch();
    });
  }

  get running(): number {
    return this.live.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.growTimer);
    const threads = [...this.live];
    this.live.clear();
    const unanswered = [...this.queue.splice(0), ...threads.flatMap((thread) => thread.tasks)];
    for (const task of unanswered) task.reject(new ParsePoolError('parse pool closed'));
    for (const thread of threads) {
      clearTimeout(thread.timer);
      clearTimeout(thread.idle);
      thread.removeBundle();
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /**
   * Keep the threads at strength, hand queued documents to free threads, grow or shrink the pool
   * between its bounds, hold the process only while there is work.
   */
  private dispatch(): void {
    if (this.closed) return;
    while (this.live.size < this.minThreads) if (!this.spawn()) break;
    // A parse asked of a pool with no thread (minThreads 0, or every thread gone) starts one.
    if (this.live.size === 0 && this.queue.length > 0) this.spawn();
    // Each document to the ready thread holding the fewest: an idle thread before a busy one.
    while (this.queue.length > 0) {
      let best: Thread | undefined;
      for (const thread of this.live) if (thread.ready && thread.tasks.length < DEPTH && (!best || thread.tasks.length < best.tasks.length)) best = thread;
      if (!best) break;
      this.send(best, this.queue.shift() as Task);
    }
    this.resize();
    for (const thread of this.live) {
      if (thread.tasks.length > 0 || (!thread.ready && this.queue.length > 0)) thread.worker.ref();
      else thread.worker.unref();
    }
  }

  /**
   * Grow by a thread once documents have waited for a free thread for `growAfterMs` without a
   * break while the machine had `minIdleCores` to spare: parsing, not the documents' arrival,
   * sets the pace, and a thread more has a core to run on (a reprocess). Where every core is busy
   * (a backfill: fetcher, database and store beside the parse) a second thread would take its CPU
   * from them and parse no faster. Waiting is counted only while every thread is ready: one still
   * starting will take the queue. A thread above the minimum stops after `idleMs` with nothing to parse.
   */
  private resize(): void {
    const starting = [...this.live].some((thread) => !thread.ready);
    if (this.queue.length === 0 || starting || this.live.size >= this.threads) {
      this.backlog = undefined;
      clearTimeout(this.growTimer);
      this.growTimer = undefined;
    } else {
      const now = performance.now();
      this.backlog ??= { since: now, idleMs: machineIdleMs() };
      let waited = now - this.backlog.since;
      if (waited >= this.growAfterMs) {
        const idleMs = machineIdleMs();
        const idleCores = (idleMs - this.backlog.idleMs) / Math.max(waited, 1);
        if (idleCores >= this.minIdleCores && this.spawn()) {
          this.backlog = undefined;
          this.onResize?.({ running: this.live.size, reason: 'backlog' });
          return this.resize();
        }
        // No core to spare: measured afresh over the next window.
        this.backlog = { since: now, idleMs };
        waited = 0;
      }
      this.growTimer ??= setTimeout(() => {
        this.growTimer = undefined;
        this.dispatch();
      }, this.growAfterMs - waited).unref();
    }
    for (const thread of this.live) {
      const idle = thread.ready && thread.tasks.length === 0 && this.queue.length === 0 && this.live.size > this.minThreads;
      if (!idle) {
        clearTimeout(thread.idle);
        thread.idle = undefined;
      } else if (thread.idle === undefined) {
        thread.idle = setTimeout(() => this.stop(thread), this.idleMs).unref();
      }
    }
  }

  /** Stop an idle thread above the minimum (its exit then finds it gone from `live`). */
  private stop(thread: Thread): void {
    thread.idle = undefined;
    if (this.closed || thread.tasks.length > 0 || this.live.size <= this.minThreads || !this.live.delete(thread)) return;
    clearTimeout(thread.timer);
    void thread.worker.terminate();
    this.onResize?.({ running: this.live.size, reason: 'idle' });
    this.dispatch();
  }

  /**
   * Start a thread. False when none could be created (the bundle could not be built or written):
   * then, as for a thread that dies before it is ready, the waiting parses fail retryably when no
   * thread is left, and the next parse tries again.
   */
  private spawn(): boolean {
    let thread: Thread;
    try {
      const bundle = writeParseThread();
      try {
        const worker = new Worker(bundle.file, {
          execArgv: threadExecArgv(),
          workerData: this.workerData,
          resourceLimits: { maxOldGenerationSizeMb: this.maxOldGenerationSizeMb, maxYoungGenerationSizeMb: this.maxYoungGenerationSizeMb },
        });
        thread = { worker, ready: false, tasks: [], removeBundle: bundle.remove };
      } catch (error) {
        bundle.remove();
        throw error;
      }
    } catch (error) {
      const cause = error as Error;
      if (this.live.size === 0) for (const task of this.queue.splice(0)) task.reject(new ParsePoolError(`no parse thread could start: ${cause.message}`, { cause }));
      return false;
    }
    this.live.add(thread);
    const { worker } = thread;
    worker.on('message', (message: ThreadMessage) => this.receive(thread, message));
    worker.on('messageerror', (error) => this.retire(thread, error));
    worker.on('error', (error) => this.retire(thread, error));
    worker.on('exit', (code) => this.retire(thread, new Error(`exited with code ${code}`)));
    return true;
  }

  private send(thread: Thread, task: Task): void {
    try {
      // A copy of exactly the document's bytes, made for each sending (a document whose thread died
      // under the one before it is sent again): the Buffer may be a view into a larger pooled
      // ArrayBuffer, which posting would clone whole and transferring would take from its owner.
      // The copy is the pool's own, so it is transferred to the thread rather than cloned again.
      const request: ParseRequest = 'bodyGzip' in task.input
        ? { id: task.id, archived: { ...task.input, bodyGzip: new Uint8Array(task.input.bodyGzip) } }
        : { id: task.id, input: { ...task.input, bytes: new Uint8Array(task.input.bytes) } };
      thread.worker.postMessage(request, ['archived' in request ? request.archived.bodyGzip.buffer : request.input.bytes.buffer]);
    } catch (error) {
      // An input that cannot be cloned (a field ParseInput does not have): that parse fails alone.
      task.reject(error as Error);
      return;
    }
    thread.tasks.push(task);
    if (thread.tasks.length === 1) this.time(thread);
  }

  /** Time the parse the thread runs now (the first of its tasks). */
  private time(thread: Thread): void {
    clearTimeout(thread.timer);
    thread.timer = setTimeout(() => {
      this.retire(thread, new NonRetryableError('unreadable_document', `parsing took longer than ${this.parseTimeoutMs} ms`));
    }, this.parseTimeoutMs);
  }

  private receive(thread: Thread, message: ThreadMessage): void {
    if ('ready' in message) {
      thread.ready = true;
      // Loaded: its copy of the bundle is no longer needed (a replacement gets a copy of its own).
      thread.removeBundle();
    } else {
      // Replies come in the order sent (the thread answers one after the other); a reply matching
      // nothing races the timeout of its parse, from a thread already retired.
      const index = thread.tasks.findIndex((task) => task.id === message.id);
      if (index < 0) return;
      const [task] = thread.tasks.splice(index, 1) as [Task];
      clearTimeout(thread.timer);
      if (thread.tasks.length > 0) this.time(thread);
      if (message.ok) task.resolve(message.result);
      else task.reject(rebuildError(message.error));
    }
    this.dispatch();
  }

  /**
   * Take a thread out (it died, or took too long) and replace it. Its parse fails as
   * `unreadable_document`: the document made it die. A thread that dies before it is ready had
   * no document: the code or the machine is at fault, so nothing is replaced until the next
   * parse asks, and when no thread is left the queue fails retryably instead of waiting forever.
   */
  private retire(thread: Thread, cause: Error): void {
    if (!this.live.delete(thread)) return;
    clearTimeout(thread.timer);
    clearTimeout(thread.idle);
    thread.removeBundle();
    void thread.worker.terminate();
    if (!thread.ready) {
      if (this.live.size > 0) return;
      for (const task of this.queue.splice(0)) task.reject(new ParsePoolError(`no parse thread could start: ${cause.message}`, { cause }));
      return;
    }
    const [running, ...waiting] = thread.tasks;
    running?.reject(cause instanceof NonRetryableError ? cause : this.deathOf(cause));
    // The document sent after it did nothing wrong: first in line for the next thread.
    this.queue.unshift(...waiting);
    thread.tasks = [];
    this.dispatch();
  }

  private deathOf(cause: Error): NonRetryableError {
    const outOfMemory = (cause as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY';
    const message = outOfMemory
      ? `parsing ran out of memory (a parse thread has ${this.maxOldGenerationSizeMb} MB of heap)`
      : `the parse thread failed while parsing: ${cause.message}`;
    return new NonRetryableError('unreadable_document', message, { cause });
  }
}

/**
 * The thread's error as the caller would have caught it inline: a NonRetryableError keeps its code
 * (and its subclass's name), anything else becomes a plain Error with its name, code and message.
 * The stack is the thread's, where the error happened.
 */
function rebuildError(failure: ParseFailure): Error {
  const options = failure.cause ? { cause: rebuildError(failure.cause) } : undefined;
  const error = failure.nonRetryable && failure.code !== undefined
    ? new NonRetryableError(failure.code, failure.message, options)
    : Object.assign(new Error(failure.message, options), failure.code !== undefined ? { code: failure.code } : {});
  error.name = failure.name;
  if (failure.stack) error.stack = failure.stack;
  return error;
}
