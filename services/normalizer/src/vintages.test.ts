import { describe, expect, it } from 'vitest';
import { canonicalDecimal, deriveVintages, type Publication } from './vintages';

let id = 0;
const pub = (day: string, value: string, status = 'final', url = `https://x.gov.cn/${day}`): Publication => ({
  id: ++id, value, status, publishedAt: new Date(`${day}T00:00:00Z`), documentId: id, url,
});
const summary = (ps: Publication[]) =>
  deriveVintages(ps).map((v) => [v.publication.value, v.validFrom.toISOString().slice(0, 10), v.validTo?.toISOString().slice(0, 10) ?? null]);

/** Every order of `items`. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('deriveVintages', () => {
  it('opens a vintage per change and none for a republication', () => {
    expect(summary([pub('2025-03-01', '1802.35', 'provisional'), pub('2025-06-01', '1802.350'), pub('2025-09-30', '1811.20')])).toEqual([
      ['1802.35', '2025-03-01', '2025-09-30'],
      ['1811.20', '2025-09-30', null],
    ]);
  });

  it('a value that changes back opens a vintage again', () => {
    expect(summary([pub('2025-01-01', '100'), pub('2025-02-01', '105'), pub('2025-03-01', '100')])).toEqual([
      ['100', '2025-01-01', '2025-02-01'],
      ['105', '2025-02-01', '2025-03-01'],
      ['100', '2025-03-01', null],
    ]);
  });

  it('news stands in until a statistic is published, and never revises one', () => {
    expect(summary([pub('2026-01-20', '1960', 'news'), pub('2026-03-24', '1987.45', 'provisional'), pub('2026-04-10', '1990', 'news')])).toEqual([
      ['1960', '2026-01-20', '2026-03-24'],
      ['1987.45', '2026-03-24', null],
    ]);
  });

  it('at one instant the official figure wins, then the smaller URL', () => {
    expect(summary([pub('2025-03-01', '7', 'news', 'https://a'), pub('2025-03-01', '8', 'final', 'https://z')])).toEqual([['8', '2025-03-01', null]]);
    expect(summary([pub('2025-03-01', '7', 'final', 'https://b'), pub('2025-03-01', '8', 'final', 'https://a')])).toEqual([['8', '2025-03-01', null]]);
  });

  it('gives the same vintages whatever order the publications arrive in', () => {
    const ps = [pub('2025-01-01', '100'), pub('2025-02-01', '105'), pub('2025-03-01', '100'), pub('2025-01-15', '99', 'news'), pub('2025-04-01', '101', 'news')];
    const expected = summary(ps);
    for (const order of permutations(ps)) expect(summary(order)).toEqual(expected);
  });

  it('canonicalises decimals', () => {
    expect(canonicalDecimal('1725.00')).toBe('1725');
    expect(canonicalDecimal('-0.0')).toBe('0');
    expect(canonicalDecimal('007.50')).toBe('7.5');
  });

  it('returns a figure already canonical as it is, and reads every other one digit by digit', () => {
    // The rule written out: strip the sign, leading zeros of the whole part, trailing zeros of the fraction.
    const byDigits = (value: string) => {
      const negative = value.startsWith('-');
      const [whole = '', fraction = ''] = value.replace(/^-/, '').split('.');
      const text = [whole.replace(/^0+(?=\d)/, ''), fraction.replace(/0+$/, '')].filter((part, i) => i === 0 || part !== '').join('.');
      return negative && text !== '0' ? `-${text}` : text;
    };
    let seed = 7;
    const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const pick = (chars: string, length: number) => Array.from({ length }, () => chars[next(chars.length)]).join('');
    const values = ['0', '-0', '0.0', '-0.5', '10', '-10.10', '100', '0.05', '5.', '.5', '-.50'];
    for (let i = 0; i < 5000; i += 1) values.push(`${next(3) === 0 ? '-' : ''}${pick('0001239', 1 + next(5))}${next(2) ? `.${pick('00159', next(4))}` : ''}`);
    for (const value of values) expect(canonicalDecimal(value), value).toBe(byDigits(value));
  });
});
