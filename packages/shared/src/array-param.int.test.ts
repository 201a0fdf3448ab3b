/**
 * arrayParam against real PostgreSQL: whatever it returns, a literal of its own or the array left
 * to pg, PostgreSQL reads back exactly the values given, for every element type the stores send.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayParam } from './db';
import { testServerUrls } from './testing';

/** Characters that mean something in an array literal, in JSON, or in neither. */
const ALPHABET = ['"', '\\', '{', '}', ',', ' ', "'", 'a', 'Z', '0', '地区', '生产总值', '亿元', '(', ')', '\n', '\t', '\u0001', '\u001f', '\u007f',
  '\u2028', '\ud83d\ude00', '\ud800', 'NULL', 'null', '\\n', '\\u0041', '/', 'é'];

/** A seeded generator (mulberry32): the same strings on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('arrayParam', () => {
  let client: pg.Client;

  beforeAll(async () => {
    client = new pg.Client({ connectionString: testServerUrls().databaseUrl });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
  });

  /** What PostgreSQL makes of the parameter, element by element, as text (NULL as null). */
  async function readBack(param: unknown, type: string): Promise<Array<string | null>> {
    const { rows } = await client.query<{ v: string | null }>(`SELECT v::text AS v FROM unnest($1::${type}[]) WITH ORDINALITY AS u(v, i) ORDER BY i`, [param]);
    return rows.map((row) => row.v);
  }

  it('writes its own literal for strings, numbers, booleans and nulls, and PostgreSQL reads the same values as from pg', async () => {
    const cases: Array<[unknown[], string]> = [
      [['地区生产总值', 'a "quoted" word', 'back\\slash', '{braces}, and commas', '', ' spaced ', 'NULL', 'null', null, undefined, '\u2028', '😀'], 'text'],
      [[1, 0, -7, 9_007_199_254_740_991, null], 'bigint'],
      [[8, 0, -4, null], 'smallint'],
      [['2065.33', '-0.5', '1725.00', null], 'numeric'],
      [['2025-01-01', '2025-12-31', null], 'date'],
      [['2026-01-02T03:04:05.678Z', null], 'timestamptz'],
      [[true, false, null], 'boolean'],
      [[], 'text'],
    ];
    for (const [values, type] of cases) {
      const param = arrayParam(values);
      expect(typeof param, `${type}: ${JSON.stringify(values)}`).toBe('string');
      expect(await readBack(param, type), type).toEqual(await readBack(values, type));
    }
    // Values as such, not only as pg would send them.
    expect(await readBack(arrayParam(['a "b"', 'c\\d', null]), 'text')).toEqual(['a "b"', 'c\\d', null]);
  });

  it('leaves to pg what JSON would write otherwise: control characters, lone surrogates, dates, nested arrays, non-finite numbers', () => {
    for (const values of [['line\nbreak'], ['tab\there'], ['\u0001'], ['\ud800'], [new Date(0)], [['nested']], [Number.NaN], [Number.POSITIVE_INFINITY], [{ a: 1 }]]) {
      expect(arrayParam(values), JSON.stringify(values)).toBe(values);
    }
  });

  it('round-trips 2,000 random strings of quotes, backslashes, braces, escapes and control characters exactly', async () => {
    const next = random(20_261_126);
    const values = Array.from({ length: 2_000 }, () => {
      if (next() < 0.05) return null;
      return Array.from({ length: Math.floor(next() * 8) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]!).join('');
    });
    // In arrays of 1 to 5, so that some take the literal and others fall back to pg.
    let literals = 0;
    let fallbacks = 0;
    for (let i = 0; i < values.length;) {
      const chunk = values.slice(i, (i += 1 + Math.floor(next() * 5)));
      const param = arrayParam(chunk);
      if (typeof param === 'string') literals += 1;
      else fallbacks += 1;
      // A lone surrogate reaches PostgreSQL as U+FFFD either way (UTF-8 cannot carry it).
      const expected = chunk.map((value) => value?.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd') ?? null);
      expect(await readBack(param, 'text')).toEqual(expected);
    }
    expect(literals).toBeGreaterThan(50);
    expect(fallbacks).toBeGreaterThan(50);
  });
});
