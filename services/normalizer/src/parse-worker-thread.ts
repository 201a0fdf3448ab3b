/**
 * One thread of the parse pool (parse-pool.ts), run as a bundle (parse-thread-module.ts). It builds the
 * catalog once from workerData, says it is ready, then parses each document it is sent and answers
 * with the result or the error, one document after the other, in the order they were sent (the
 * pool matches each reply with the oldest parse it sent).
 *
 * Errors travel as plain data: structured clone keeps an Error's message but drops its class and
 * its `code`, and the normalizer needs both (`instanceof NonRetryableError`, `error.code`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NonRetryableError } from '@nst/shared/errors';
import type { Indicator } from '@nst/shared/seeds';
import { inputFromArchive, type ArchivedInput } from './archived-input';
import { buildIndicatorCatalog } from './indicators';
import { parseDocument } from './parsers/index';
import { packParse, type PackedParse, type ParseInput } from './records';

export interface ParseWorkerData {
  indicators: readonly Indicator[];
  /** Honour the `test:` URLs of runTestHook; set only by tests (ParsePoolOptions.testHooks). */
  testHooks?: boolean;
}

/**
 * A document to parse, as parser input or as the archive holds it (unpacked here). Bytes arrive as
 * a Uint8Array: structured clone does not keep Buffer.
 */
export type ParseRequest =
  | { id: number; input: Omit<ParseInput, 'bytes'> & { bytes: Uint8Array<ArrayBuffer> } }
  | { id: number; archived: Omit<ArchivedInput, 'bodyGzip'> & { bodyGzip: Uint8Array<ArrayBuffer> } };

/** A thrown error as plain data; `nonRetryable` marks a NonRetryableError (or a subclass). */
export interface ParseFailure {
  name: string;
  message: string;
  code?: string;
  nonRetryable?: true;
  stack?: string;
  cause?: ParseFailure;
}

export type ParseReply = { id: number; ok: true; result: PackedParse } | { id: number; ok: false; error: ParseFailure };

/** What a thread posts: once `ready` (catalog built, modules loaded), then one reply per request. */
export type ThreadMessage = { ready: true } | ParseReply;

/** Causes followed when flattening an error (a cycle must not overflow the stack). */
const MAX_CAUSES = 3;

const port = parentPort;
if (!port) throw new Error('parse-worker-thread.ts runs in a worker thread of the parse pool');
const data = workerData as ParseWorkerData;
const catalog = buildIndicatorCatalog(data.indicators);

const asBuffer = (bytes: Uint8Array<ArrayBuffer>) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// One request at a time, in the order sent: the pool sends the next document while this one is
// parsed, and an XLSX parse awaits exceljs, so an async handler would let the next one overtake it.
let previous = Promise.resolve();
port.on('message', (request: ParseRequest) => {
  // answer() settles every request itself; the catch keeps one failure from silencing the rest.
  previous = previous.then(() => answer(request)).catch(() => undefined);
});

async function answer(request: ParseRequest): Promise<void> {
  const { id } = request;
  try {
    const input = 'archived' in request
      ? inputFromArchive({ ...request.archived, bodyGzip: asBuffer(request.archived.bodyGzip) })
      : { ...request.input, bytes: asBuffer(request.input.bytes) };
    if (data.testHooks) runTestHook(input.url);
    // Packed here (records as JSON text, see PackedParse): one string to copy across, not objects to clone.
    const result = packParse(await parseDocument(input, catalog));
    // Inside the try: a result that cannot be packed is answered as that error, not left unanswered.
    port!.postMessage({ id, ok: true, result } satisfies ThreadMessage);
  } catch (error) {
    port!.postMessage({ id, ok: false, error: flatten(error) } satisfies ThreadMessage);
  }
}
port.postMessage({ ready: true } satisfies ThreadMessage);

function flatten(error: unknown, depth = 0): ParseFailure {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error instanceof NonRetryableError ? { nonRetryable: true as const } : {}),
    ...(error.stack ? { stack: error.stack } : {}),
    ...(error.cause !== undefined && depth < MAX_CAUSES ? { cause: flatten(error.cause, depth + 1) } : {}),
  };
}

/**
 * Inputs that misbehave on purpose, for the pool's tests: `test:sleep/<ms>` holds the thread for
 * that long (a parse past its timeout), `test:exhaust-memory` allocates until the heap limit kills
 * the thread.
 */
function runTestHook(url: string | undefined): void {
  if (url?.startsWith('test:sleep/')) {
    const until = Date.now() + Number(url.slice('test:sleep/'.length));
    while (Date.now() < until);
  }
  if (url === 'test:exhaust-memory') {
    const hoard: number[][] = [];
    for (;;) hoard.push(new Array<number>(100_000).fill(hoard.length));
  }
}
