/**
 * Arrays for code that V8 compiles once and keeps: lists that hot functions pass to one another,
 * or fill late, all of one kind.
 *
 * V8 compiles a function for the kinds of arrays it has met, and throws the code away (a "wrong
 * map" deopt, then a compile again: 0.1–0.3 s on a helper thread for the store's or the
 * aggregator's planning) when another kind comes:
 * - it learns per array literal what the arrays made there come to hold (small integers only, or
 *   any value), so a list of a literal of its own that first takes an object late in a run (the
 *   first move of a quiet publication, say) meets code compiled for small integers;
 * - `Array.prototype.map` and `filter` give holey arrays while their caller runs in the
 *   interpreter and packed ones once TurboFan has compiled the caller, so whatever reads them
 *   meets a second kind of array then.
 * Every list made here comes from one literal and is packed (`--trace-deopt` over a benchmark run:
 * planVintages compiled 7 times before, 3–4 after; planSnapshots 5 times before).
 */

/** A new, empty list. */
export const emptyList = <T>(): T[] => [];

/** `items.map(fn)`, as an {@link emptyList}. */
export function mapped<T, R>(items: readonly T[], fn: (item: T, i: number) => R): R[] {
  const out = emptyList<R>();
  for (let i = 0; i < items.length; i += 1) out.push(fn(items[i]!, i));
  return out;
}

/** `items.filter(keep)`, as an {@link emptyList}. */
export function kept<T>(items: readonly T[], keep: (item: T, i: number) => boolean): T[] {
  const out = emptyList<T>();
  for (let i = 0; i < items.length; i += 1) if (keep(items[i]!, i)) out.push(items[i]!);
  return out;
}
