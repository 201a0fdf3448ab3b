import { describe, expect, it } from 'vitest';
import { outageDelayMs } from './worker';

describe('outageDelayMs', () => {
  it('doubles from 1 s while PostgreSQL stays away, up to 5 s, jittered ±25%', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 10].map((n) => outageDelayMs(n, middle))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(outageDelayMs(1, () => 0)).toBe(750);
    expect(outageDelayMs(10, () => 0.999_999)).toBeLessThanOrEqual(6_250);
  });
});
