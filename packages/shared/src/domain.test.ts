import { describe, expect, it } from 'vitest';
import { periodMonths, periodRange, periodYear, PeriodCode } from './domain';

describe('period codes', () => {
  it.each([
    ['2024', 'period', '2024-01-01', '2024-12-31'],
    ['2024-02', 'period', '2024-02-01', '2024-02-29'],
    ['2025-02', 'ytd', '2025-01-01', '2025-02-28'],
    ['2025-10', 'ytd', '2025-01-01', '2025-10-31'],
    ['2025-Q3', 'period', '2025-07-01', '2025-09-30'],
    ['2025-Q3', 'ytd', '2025-01-01', '2025-09-30'],
    ['2025-H1', 'ytd', '2025-01-01', '2025-06-30'],
    ['2025-H2', 'period', '2025-07-01', '2025-12-31'],
  ] as const)('%s %s spans %s..%s', (code, accumulation, start, end) => {
    expect(periodRange(code, accumulation)).toEqual({ start, end });
  });

  it('knows the months and year of a code', () => {
    expect(periodMonths('2025-Q4')).toEqual({ year: 2025, first: 10, last: 12 });
    expect(periodYear('2023-06')).toBe(2023);
  });

  it.each(['2024-13', '2024-Q5', '24', '2024-6', '2024-H3', '2024Q1'])('refuses %s', (code) => {
    expect(PeriodCode.safeParse(code).success).toBe(false);
  });
});
