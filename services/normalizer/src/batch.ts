/**
 * Request coalescing: requests made while a batch runs wait for the next batch, so batches grow
 * with load and a lone request runs at once (no timer, no added latency). Jobs stay one document
 * each, as BullMQ delivers them; what they share is the round trips.
 */
import { mapped } from '@nst/shared/arrays';

/** The outcome of one request in a batch. */
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface BatcherOptions<I> {
  /** Most requests in one batch. */
  maxBatch: number;
  /** Requests with equal keys never share a batch (the later one waits for the next). */
  key?: (item: I) => unknown;
  /** Batches that may run at once; default 1. */
  lanes?: number;
  /** A lane beyond the first starts only while at least this many requests wait; default 1. */
  laneBacklog?: number;
}

/**
 * `run` gets the requests of a batch and settles each (in order); if it throws, every request of
 * the batch rejects with that error. One batch runs at a time, or up to `lanes` while a backlog
 * of `laneBacklog` requests waits.
 */
export function createBatcher<I, O>(run: (items: readonly I[]) => Promise<ReadonlyArray<Settled<O>>>, options: BatcherOptions<I>): (item: I) => Promise<O> {
  const pending: Array<{ item: I; resolve: (value: O) => void; reject: (error: unknown) => void }> = [];
  const lanes = Math.max(1, options.lanes ?? 1);
  const laneBacklog = Math.max(1, options.laneBacklog ?? 1);
  let running = 0;

  const take = (): typeof pending => {
    const batch: typeof pending = [];
    const keys = new Set<unknown>();
    for (let i = 0; i < pending.length && batch.length < options.maxBatch;) {
      const key = options.key?.(pending[i]!.item);
      if (options.key && keys.has(key)) {
        i += 1;
        continue;
      }
      keys.add(key);
      batch.push(...pending.splice(i, 1));
    }
    return batch;
  };

  const drain = async (): Promise<void> => {
    try {
      while (pending.length > 0) {
        const batch = take();
        let results: ReadonlyArray<Settled<O>>;
        try {
          // As a packed list (@nst/shared/arrays): `run` is compiled once for one kind of array.
          results = await run(mapped(batch, (request) => request.item));
        } catch (error) {
          results = batch.map(() => ({ ok: false, error }));
        }
        batch.forEach((request, i) => {
          const result = results[i] ?? { ok: false, error: new Error('batch returned no result for a request') };
          if (result.ok) request.resolve(result.value);
          else request.reject(result.error);
        });
      }
    } finally {
      running -= 1;
    }
  };

  return (item) => new Promise<O>((resolve, reject) => {
    pending.push({ item, resolve, reject });
    // The next turn of the event loop: requests made in this one (say, jobs whose documents were
    // loaded together) join the same batch.
    if (running === 0 || (running < lanes && pending.length >= laneBacklog)) {
      running += 1;
      setImmediate(() => void drain());
    }
  });
}

/** Settle every request of a batch with the same function, each on its own. */
export async function settleEach<I, O>(items: readonly I[], fn: (item: I) => Promise<O>): Promise<Array<Settled<O>>> {
  const results: Array<Settled<O>> = [];
  for (const item of items) {
    try {
      results.push({ ok: true, value: await fn(item) });
    } catch (error) {
      results.push({ ok: false, error });
    }
  }
  return results;
}
