import { describe, expect, it } from 'vitest';
import { emptyList, kept, mapped } from './arrays';

describe('arrays', () => {
  it('mapped gives what map gives, each item with its index, as a new packed list', () => {
    const items = ['a', 'b', 'c'];
    const out = mapped(items, (item, i) => `${item}${i}`);
    expect(out).toEqual(items.map((item, i) => `${item}${i}`));
    expect(out).not.toBe(items);
    expect(Object.keys(out)).toEqual(['0', '1', '2']);
    expect(mapped([], (x: number) => x)).toEqual([]);
  });

  it('kept gives what filter gives, in order', () => {
    const items = [5, 1, 4, 2, 3];
    expect(kept(items, (n, i) => n > 2 && i < 4)).toEqual([5, 4]);
    expect(kept(items, () => false)).toEqual([]);
  });

  it('emptyList gives a new list each time', () => {
    const a = emptyList<number>();
    a.push(1);
    expect(emptyList<number>()).toEqual([]);
  });
});
