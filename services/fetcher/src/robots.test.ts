import { describe, expect, it } from 'vitest';
import { crawlDelayMs, MAX_CRAWL_DELAY_MS } from './robots';

describe('crawlDelayMs', () => {
  it("reads robots.txt's Crawl-delay seconds as milliseconds", () => {
    expect(crawlDelayMs(0.5)).toBe(500);
    expect(crawlDelayMs(10)).toBe(10_000);
  });

  it('takes a delay above the longest honoured as that, and none for a delay under a millisecond', () => {
    expect(crawlDelayMs(86_400)).toBe(MAX_CRAWL_DELAY_MS);
    // A value this large would make an invalid date of the job's return.
    expect(crawlDelayMs(1e13)).toBe(MAX_CRAWL_DELAY_MS);
    expect(crawlDelayMs(0.0001)).toBeUndefined();
    expect(crawlDelayMs(0)).toBeUndefined();
    expect(crawlDelayMs(Number.NaN)).toBeUndefined();
    expect(crawlDelayMs(undefined)).toBeUndefined();
  });
});
