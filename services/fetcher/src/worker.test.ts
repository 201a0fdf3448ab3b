import { describe, expect, it } from 'vitest';
import { RetryableError } from '@nst/shared/errors';
import { parseRetryAfter } from './http-client';
import { tickOf } from './scheduler';
import { fetchBackoffDelay } from './worker';

describe('fetch backoff', () => {
  it('grows exponentially with ±50% jitter', () => {
    expect(fetchBackoffDelay(1, 1000, undefined, () => 0.5)).toBe(1000);
    expect(fetchBackoffDelay(3, 1000, undefined, () => 0.5)).toBe(4000);
    expect(fetchBackoffDelay(3, 1000, undefined, () => 0)).toBe(2000);
    expect(fetchBackoffDelay(3, 1000, undefined, () => 0.999)).toBe(5996);
  });

  it('honours Retry-After when the server sent it', () => {
    const error = new RetryableError('http_429', 'slow down', { retryAfterMs: 7000 });
    expect(fetchBackoffDelay(1, 1000, error)).toBe(7000);
  });

  it('parses Retry-After seconds and dates, capped', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('Thu, 26 Nov 2026 07:00:10 GMT', Date.parse('Thu, 26 Nov 2026 07:00:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('99999')).toBe(600_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('scheduler ticks', () => {
  it('truncates a firing to its minute, so replicas agree on the tick', () => {
    expect(tickOf(new Date('2026-11-26T07:00:00.123Z'))).toBe('2026-11-26T07:00:00.000Z');
    expect(tickOf(new Date('2026-11-26T07:00:59.999Z'))).toBe('2026-11-26T07:00:00.000Z');
  });
});
