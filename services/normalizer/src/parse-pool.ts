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
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { NonRetryableError } from '@nst/shared/errors';
import type { Indicator } from '@nst/shared/seeds';
import type { ArchivedInput } from './archived-input';
import { buildIndicatorCatalog, type IndicatorCatalog } from './indicators';
import { writeParseThread } from './parse-thread-module';
import type { ParseFailure, ParseRequest, ParseWorkerData, ThreadMessage } from './parse-worker-thread';
import { packParse, type PackedParse, type ParseInput } from './records';

export interface ParsePoolOptions {
  indicators: readonly Indicator[];
  /** Worker threads; 0 parses inline on the calling thread (tests, the CLI). */
  threads: number;
  /** A parse running longer is rejected as `unreadable_document` and its thread replaced. Default 60 000. */
  parseTimeoutMs?: number;
  /** Heap (V8 old generation) of each thread; a parse that exhausts it fails as `unreadable_document`. Default 512. */
  maxOldGenerationSizeMb?: number;
  /**
   * Young generation of each thread, where a parse's garbage is born and dies. Default 16: two
   * threads parsing the benchmark's 20 KB articles spent 2.23 ms of CPU a document with 16 MB,
   * 2.91 with 8 and 2.23–2.28 with 24 (`pnpm bench --only parse-pool`; docs/performance.md).
   * A process-wide `--max-semi-space-size` sizes it whatever this asks: under the service's 6 MB
   * (scripts/bundles.ts) the threads have 6 MB semi-spaces, as the main thread has.
   */
  maxYoungGenerationSizeMb?: number;
  /** Let `test:` URLs misbehave in the threads (see parse-worker-thread.ts). Tests only. */
  testHooks?: boolean;
}

export interface ParsePool {
  /**
   * `parseDocument` with the pool's catalog, packed (packParse): the same result, or the same typed
   * error. An archived input is unpacked by the thread (inputFromArchive), so the main thread
   * neither inflates nor decodes.
   */
  parse(input: ParseInput | ArchivedInput): Promise<PackedParse>;
  /** Terminates the threads; parses not answered yet reject with a ParsePoolError. */
  close(): Promise<void>;
  readonly threads: number;
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
export async function parseInline(input: ParseInput | ArchivedInput, catalog: IndicatorCatalog): Promise<PackedParse> {
  const [{ parseDocument }, { inputFromArchive }] = await Promise.all([import('./parsers/index'), import('./archived-input')]);
  return packParse(await parseDocument('bodyGzip' in input ? inputFromArchive(input) : input, catalog));
}

/**
 * Two threads when the machine has a second core, else inline. A reprocess without a parser
 * change is parsing, and the main thread waits on it: on two cores a second thread makes it
 * about a quarter faster (pnpm bench), for about 50 MB more at the pipeline's peak (the service
 * run from its bundle peaks at 193–202 MB, under the 300 MB budget; docs/performance.md). More
 * threads would add memory, not speed, on the two cores this is sized for;
 * NORMALIZE_PARSE_THREADS sets another count.
 */
export function defaultParseThreads(): number {
  return availableParallelism() > 1 ? 2 : 0;
}

export function createParsePool(options: ParsePoolOptions): ParsePool {
  if (!Number.isInteger(options.threads) || options.threads < 0) throw new RangeError(`threads must be a whole number ≥ 0, not ${options.threads}`);
  if (options.threads > 0) return new ThreadPool(options);
  const catalog = buildIndicatorCatalog(options.indicators);
  return { threads: 0, parse: (input) => parseInline(input, catalog), close: async () => undefined };
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

interface Task {
  id: number;
  input: ParseInput | ArchivedInput;
  resolve: (result: PackedParse) => void;
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
}

class ThreadPool implements ParsePool {
  readonly threads: number;
  private readonly parseTimeoutMs: number;
  private readonly maxOldGenerationSizeMb: number;
  private readonly maxYoungGenerationSizeMb: number;
  private readonly workerData: ParseWorkerData;
  private readonly live = new Set<Thread>();
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options: ParsePoolOptions) {
    this.threads = options.threads;
    this.parseTimeoutMs = options.parseTimeoutMs ?? 60_000;
    this.maxOldGenerationSizeMb = options.maxOldGenerationSizeMb ?? 512;
    this.maxYoungGenerationSizeMb = options.maxYoungGenerationSizeMb ?? 16;
    this.workerData = { indicators: options.indicators, ...(options.testHooks ? { testHooks: true } : {}) };
    this.dispatch();
  }

  parse(input: ParseInput | ArchivedInput): Promise<PackedParse> {
    if (this.closed) return Promise.reject(new ParsePoolError('parse pool closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, input, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = [...this.live];
    this.live.clear();
    const unanswered = [...this.queue.splice(0), ...threads.flatMap((thread) => thread.tasks)];
    for (const task of unanswered) task.reject(new ParsePoolError('parse pool closed'));
    for (const thread of threads) {
      clearTimeout(thread.timer);
      thread.removeBundle();
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** Keep the threads at strength, hand queued documents to free threads, hold the process only while there is work. */
  private dispatch(): void {
    if (this.closed) return;
    while (this.live.size < this.threads) if (!this.spawn()) break;
    // Each document to the ready thread holding the fewest: an idle thread before a busy one.
    while (this.queue.length > 0) {
      let best: Thread | undefined;
      for (const thread of this.live) if (thread.ready && thread.tasks.length < DEPTH && (!best || thread.tasks.length < best.tasks.length)) best = thread;
      if (!best) break;
      this.send(best, this.queue.shift() as Task);
    }
    for (const thread of this.live) {
      if (thread.tasks.length > 0 || (!thread.ready && this.queue.length > 0)) thread.worker.ref();
      else thread.worker.unref();
    }
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
