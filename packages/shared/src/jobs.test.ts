import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { NonRetryableError, RetryableError, ValidationError } from './errors';
import { toBullError } from './worker';
import { jobId, parseJobData } from './jobs';

describe('job catalog', () => {
  it('parses a valid payload and strips nothing it knows', () => {
    expect(parseJobData('fetch-source', { sourceKey: 'bs-news', force: true })).toEqual({ sourceKey: 'bs-news', force: true });
    expect(parseJobData('aggregate-indicator', { scope: 'north_south', indicator: 'gdp' })).toEqual({ scope: 'north_south', indicator: 'gdp' });
  });

  it('refuses an invalid payload with a non-retryable error naming the field', () => {
    expect(() => parseJobData('normalize-document', { documentId: 'seven' })).toThrow(ValidationError);
    expect(() => parseJobData('normalize-document', { documentId: -1 })).toThrow(/documentId/);
    expect(() => parseJobData('fetch-source', { sourceKey: 'x', url: 'not a url' })).toThrow(/url/);
  });

  it('builds job ids BullMQ accepts', () => {
    expect(jobId('bs-news', '2026-11-26T07:00:00.000Z')).toBe('bs-news|2026-11-26T07_00_00.000Z');
    expect(jobId(42)).toBe('42');
  });
});

describe('errors', () => {
  it('maps non-retryable errors to UnrecoverableError and keeps retryable ones', () => {
    const bad = toBullError(new NonRetryableError('http_404', 'not found'));
    expect(bad).toBeInstanceOf(UnrecoverableError);
    expect(bad.message).toBe('http_404: not found');
    const cause = new Error('ECONNRESET');
    const flaky = new RetryableError('network', 'reset', { cause });
    expect(toBullError(flaky)).toBe(flaky);
    expect(flaky.cause).toBe(cause);
  });
});
