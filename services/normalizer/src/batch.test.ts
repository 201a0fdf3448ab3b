/**
 * Request coalescing: a lone request runs at once in a batch of one, requests made while a batch
 * runs wait for the next one, batches never exceed maxBatch nor hold two requests of one key, and
 * each request settles with its own outcome (or with the batch's error when `run` throws); with
 * `lanes`, a backlog is taken by further batches at once.
 */
import { describe, expect, it } from 'vitest';
import { createBatcher, settleEach, type Settled } from './batch';

/** A promise settled from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Let pending setImmediate callbacks and promise continuations run. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A `run` that records each batch and answers every item with `item * 10`, each batch waiting for `gate` when set. */
function recorder(options: { gate?: () => Promise<void> } = {}) {
  const batches: number[][] = [];
  const run = async (items: readonly number[]): Promise<Array<Settled<number>>> => {
    batches.push([...items]);
    await options.gate?.();
    return items.map((item) => ({ ok: true, value: item * 10 }));
  };
  return { batches, run };
}

describe('createBatcher', () => {
  it('runs a lone request in a batch of one', async () => {
    const { batches, run } = recorder();
    const request = createBatcher(run, { maxBatch: 8 });
    expect(await request(7)).toBe(70);
    expect(batches).toEqual([[7]]);
    // Idle again: the next lone request is a batch of its own too.
    expect(await request(8)).toBe(80);
    expect(batches).toEqual([[7], [8]]);
  });

  it('puts requests made in one turn of the event loop into one batch', async () => {
    const { batches, run } = recorder();
    const request = createBatcher(run, { maxBatch: 8 });
    expect(await Promise.all([request(1), request(2), request(3)])).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('coalesces the requests made while a batch runs into the next batch', async () => {
    const gates = [deferred(), deferred()];
    let calls = 0;
    const { batches, run } = recorder({ gate: () => gates[calls++]!.promise });
    const request = createBatcher(run, { maxBatch: 8 });

    const first = request(1);
    await turn();
    expect(batches).toEqual([[1]]); // running, held by its gate
    const later = [request(2), request(3), request(4)];
    await turn();
    await turn();
    expect(batches).toEqual([[1]]); // one batch at a time: the others wait

    gates[0]!.resolve();
    expect(await first).toBe(10);
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    gates[1]!.resolve();
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('never puts more than maxBatch requests in one batch, and keeps their order', async () => {
    const { batches, run } = recorder();
    const request = createBatcher(run, { maxBatch: 2 });
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => request(n)))).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('never puts two requests with equal keys in one batch, and completes both', async () => {
    const batches: string[][] = [];
    const request = createBatcher<{ key: string; n: number }, string>(async (items) => {
      batches.push(items.map((item) => `${item.key}${item.n}`));
      return items.map((item) => ({ ok: true, value: `${item.key}${item.n}` }));
    }, { maxBatch: 8, key: (item) => item.key });
    const results = await Promise.all([
      request({ key: 'a', n: 1 }),
      request({ key: 'a', n: 2 }),
      request({ key: 'b', n: 3 }),
      request({ key: 'a', n: 4 }),
      request({ key: 'c', n: 5 }),
    ]);
    expect(results).toEqual(['a1', 'a2', 'b3', 'a4', 'c5']);
    expect(batches).toEqual([['a1', 'b3', 'c5'], ['a2'], ['a4']]);
    for (const batch of batches) expect(new Set(batch.map((item) => item[0])).size).toBe(batch.length);
  });

  it('runs a second batch beside the first only while laneBacklog requests wait, and never more than `lanes`', async () => {
    const gates = [deferred(), deferred(), deferred(), deferred()];
    let calls = 0;
    const { batches, run } = recorder({ gate: () => gates[calls++]!.promise });
    const request = createBatcher(run, { maxBatch: 8, lanes: 2, laneBacklog: 3 });

    const first = request(1);
    await turn();
    expect(batches).toEqual([[1]]); // a lone request: one lane
    const small = [request(2), request(3)];
    await turn();
    await turn();
    expect(batches).toEqual([[1]]); // two wait: below the backlog, they wait for the first lane

    const more = [request(4), request(5), request(6)];
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4, 5, 6]]); // five wait: a second lane takes them
    const third = [request(7), request(8), request(9)];
    await turn();
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4, 5, 6]]); // both lanes busy: no third

    gates[1]!.resolve(); // the second lane ends first and takes what waits
    expect(await Promise.all([...small, ...more])).toEqual([20, 30, 40, 50, 60]);
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4, 5, 6], [7, 8, 9]]);
    gates[2]!.resolve();
    gates[0]!.resolve();
    expect(await Promise.all([first, ...third])).toEqual([10, 70, 80, 90]);
    expect(batches).toHaveLength(3);
  });

  it('keeps one lane by default, whatever waits', async () => {
    const gates = [deferred(), deferred(), deferred()];
    let calls = 0;
    const { batches, run } = recorder({ gate: () => gates[calls++]!.promise });
    const request = createBatcher(run, { maxBatch: 4 });
    const first = request(1);
    await turn();
    const rest = [2, 3, 4, 5, 6].map((n) => request(n));
    await turn();
    await turn();
    expect(batches).toEqual([[1]]);
    for (const gate of gates) gate.resolve();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches).toEqual([[1], [2, 3, 4, 5], [6]]);
  });

  it('rejects every request of a batch with the error `run` throws, and serves later requests', async () => {
    const failure = new Error('the batch transaction failed');
    const batches: number[][] = [];
    let fail = true;
    const request = createBatcher<number, number>(async (items) => {
      batches.push([...items]);
      if (fail) throw failure;
      return items.map((item) => ({ ok: true, value: item + 100 }));
    }, { maxBatch: 8 });

    const outcomes = await Promise.allSettled([request(1), request(2), request(3)]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(outcomes).toEqual([1, 2, 3].map(() => ({ status: 'rejected', reason: failure })));
    for (const outcome of outcomes) expect((outcome as PromiseRejectedResult).reason).toBe(failure);

    fail = false;
    expect(await Promise.all([request(4), request(5)])).toEqual([104, 105]);
    expect(batches).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('rejects only the request whose outcome is { ok: false }', async () => {
    const bad = new Error('document 2 cannot be stored');
    const request = createBatcher<number, number>(async (items) =>
      items.map((item): Settled<number> => (item === 2 ? { ok: false, error: bad } : { ok: true, value: item })), { maxBatch: 8 });
    const outcomes = await Promise.allSettled([request(1), request(2), request(3)]);
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: 3 },
    ]);
  });

  it('rejects a request `run` returned no outcome for, and settles the others', async () => {
    const request = createBatcher<number, number>(async (items) => items.slice(0, 1).map((item) => ({ ok: true, value: item })), { maxBatch: 8 });
    const outcomes = await Promise.allSettled([request(1), request(2)]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/no result/) }) });
  });
});

describe('settleEach', () => {
  it('settles each item on its own: one that throws fails alone, the others still run', async () => {
    const bad = new Error('item 2 failed');
    const seen: number[] = [];
    const results = await settleEach([1, 2, 3], async (item) => {
      seen.push(item);
      if (item === 2) throw bad;
      return item * 2;
    });
    expect(seen).toEqual([1, 2, 3]);
    expect(results).toEqual([
      { ok: true, value: 2 },
      { ok: false, error: bad },
      { ok: true, value: 6 },
    ]);
    expect((results[1] as { error: unknown }).error).toBe(bad);
  });

  it('gives an empty list for no items', async () => {
    expect(await settleEach([], async () => 1)).toEqual([]);
  });
});
