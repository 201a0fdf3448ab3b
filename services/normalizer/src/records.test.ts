/**
 * A parse as the normalizer takes it on (packParse): the records grouped by kind as JSON text, and
 * the digest of a reading taken over that text, equal to the digest documents were stored with
 * before parses were packed (or every stored document would be stored again by the next reprocess).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { packParse, unpackRecords, type NewsItemRecord, type ObservationRecord, type ParsedRecord, type RejectRecord } from './records';
import { recordsDigest, STORE_VERSION } from './sql/store-records';

const gdp: ObservationRecord = {
  kind: 'observation', district: 'baoshan', indicator: 'gdp', measure: 'level', accumulation: 'ytd', period: '2025-09', value: '1725.00',
  unit: 'CNY', unitMult: 8, status: 'final', basis: 'unknown', rawValue: '１,７２５.００', locator: 'table[0] row "地区生产总值" col "1-9月"',
};
const growth: ObservationRecord = { ...gdp, measure: 'yoy_pct', value: '-3.2', unit: 'pct', unitMult: 0, basis: 'comparable', rawValue: '－3.2' };
const news: NewsItemRecord = { kind: 'news_item', title: '宝山区推进北转型', lang: 'zh', districts: ['baoshan'], industries: ['new_materials'], areas: [], summary: undefined };
const reject: RejectRecord = { kind: 'reject', reason: 'unknown_indicator', detail: 'no catalog entry for "港口货物吞吐量"', locator: 'table[0] row 12', raw: ['港口货物吞吐量', '3.1'] };
/** In the parser's order, kinds interleaved. */
const records: ParsedRecord[] = [gdp, reject, news, growth];

describe('packParse', () => {
  it('holds the records grouped by kind, each kind in the parser\'s order, and what the page states besides', () => {
    const packed = packParse({ records, publishedAt: '2025-10-20T00:00:00+08:00', title: '2025年1-9月主要经济指标' });
    expect(unpackRecords(packed)).toEqual({ observations: [gdp, growth], news: [news], targetMentions: [], rejects: [reject] });
    expect(packed.publishedAt).toBe('2025-10-20T00:00:00+08:00');
    expect(packed.title).toBe('2025年1-9月主要经济指标');
  });

  it('leaves out what the page does not state, as the parse does', () => {
    expect(packParse({ records: [] })).toStrictEqual({ records: '{"observations":[],"news":[],"targetMentions":[],"rejects":[]}' });
  });
});

describe('recordsDigest', () => {
  /** The digest as it was computed before parses were packed, from the records as objects. */
  const digestOfObjects = (ctx: { parserVersion: string; url: string; validFrom: Date; publishedAt: Date | null }, grouped: unknown) =>
    createHash('sha256')
      .update(JSON.stringify([STORE_VERSION, ctx.parserVersion, ctx.url, ctx.validFrom.toISOString(), ctx.publishedAt?.toISOString() ?? null, grouped]))
      .digest('hex');
  const grouped = { observations: [gdp, growth], news: [news], targetMentions: [], rejects: [reject] };

  it.each([
    ['a stated publication time', new Date('2025-10-20T00:00:00+08:00')],
    ['none', null],
  ])('is the digest documents were stored with, with %s', (_, publishedAt) => {
    const ctx = { parserVersion: 'stats-table@3', url: 'https://tjj.baoshan.gov.cn/2025-09.html', validFrom: new Date('2025-10-19T16:00:00Z'), publishedAt };
    expect(recordsDigest(packParse({ records }).records, ctx)).toBe(digestOfObjects(ctx, grouped));
  });

  it('changes with a figure, the parser version or the time a reading takes effect', () => {
    const ctx = { parserVersion: 'stats-table@3', url: 'https://tjj.baoshan.gov.cn/2025-09.html', validFrom: new Date('2025-10-19T16:00:00Z'), publishedAt: null };
    const digest = recordsDigest(packParse({ records }).records, ctx);
    expect(recordsDigest(packParse({ records: [{ ...gdp, value: '1725.01' }, reject, news, growth] }).records, ctx)).not.toBe(digest);
    expect(recordsDigest(packParse({ records }).records, { ...ctx, parserVersion: 'stats-table@4' })).not.toBe(digest);
    expect(recordsDigest(packParse({ records }).records, { ...ctx, validFrom: new Date('2025-10-20T16:00:00Z') })).not.toBe(digest);
  });
});
