/**
 * The indicator catalog as the parsers use it: a label printed on a page → a catalog code.
 *
 * Table rows are matched whole (after normalisation) so that `工业固定资产投资` never becomes
 * `fixed_asset_investment` by containing one of its aliases. Running text is searched for alias
 * occurrences; where two aliases overlap the longer wins (`区级一般公共预算收入` over
 * `一般公共预算收入`, `规模以上工业总产值` over `工业总产值`).
 */
import type { Indicator } from '@nst/shared/seeds';
import { normalizeWidth } from './numbers';
import type { Frequency } from './periods';

/** Indicators compiled per quarter (GDP and value added), whose cumulative spans get Q/H codes. */
const QUARTERLY_CODES = new Set(['gdp', 'secondary_industry_va', 'tertiary_industry_va', 'primary_industry_va', 'industry_va']);

/** Words that decorate a row label without changing the indicator. */
const SCOPE_PREFIX = /^(?:全区|全市|本区|全县|宝山区|金山区|上海市|宝山|金山|区|市)(?=.)/;
const SUB_ROW_PREFIX = /^(?:#|＃|其中[:：]?|内[:：]|内资[:：]|包括[:：]?)+/;
const OUTLINE_PREFIX = /^(?:[一二三四五六七八九十]+[、.．]|\d+[、.．](?!\d)|\(\s*[一二三四五六七八九十\d]+\s*\)|（[一二三四五六七八九十\d]+）)/;

export interface AliasHit {
  indicator: Indicator;
  /** Offset of the alias in the searched text. */
  start: number;
  end: number;
  alias: string;
}

export class IndicatorCatalog {
  private readonly byCode = new Map<string, Indicator>();
  private readonly byLabel = new Map<string, Indicator>();
  /** Normalised aliases, longest first, for searching running text. */
  private readonly aliases: Array<{ key: string; indicator: Indicator }> = [];

  constructor(indicators: readonly Indicator[]) {
    for (const indicator of indicators) {
      this.byCode.set(indicator.code, indicator);
      for (const alias of [indicator.name_zh, indicator.name_en, ...indicator.aliases]) {
        const key = normalizeLabel(alias);
        if (key === '') continue;
        // The first indicator to claim a label keeps it: the catalog order decides, not chance.
        if (!this.byLabel.has(key)) this.byLabel.set(key, indicator);
        const searchKey = normalizeText(alias);
        if (!this.aliases.some((entry) => entry.key === searchKey)) this.aliases.push({ key: searchKey, indicator });
      }
    }
    this.aliases.sort((a, b) => b.key.length - a.key.length);
  }

  get(code: string): Indicator | undefined {
    return this.byCode.get(code);
  }

  get size(): number {
    return this.byCode.size;
  }

  /**
   * The indicator a table-row label names, or undefined. The label may carry a sub-row mark
   * (`#`, `其中：`), an outline number (`一、`), a scope word (`全区`) and a parenthesised unit.
   */
  /** The code of every indicator of the catalog. */
  get codes(): string[] {
    return [...this.byCode.keys()];
  }

  matchLabel(label: string): Indicator | undefined {
    const key = normalizeLabel(label);
    if (key === '') return undefined;
    const exact = this.byLabel.get(key);
    if (exact) return exact;
    const unscoped = key.replace(SCOPE_PREFIX, '');
    return unscoped === key ? undefined : this.byLabel.get(unscoped);
  }

  /**
   * Every alias occurrence in running text (already passed through normalizeText), longest first
   * where occurrences overlap, in reading order.
   */
  findAliases(text: string): AliasHit[] {
    const hits: AliasHit[] = [];
    const taken = new Array<boolean>(text.length).fill(false);
    const lower = text.toLowerCase();
    for (const { key, indicator } of this.aliases) {
      let from = 0;
      for (;;) {
        const start = lower.indexOf(key, from);
        if (start < 0) break;
        const end = start + key.length;
        from = start + 1;
        if (isAsciiWord(key) && !hasWordBoundaries(lower, start, end)) continue;
        if (taken.slice(start, end).some(Boolean)) continue;
        taken.fill(true, start, end);
        hits.push({ indicator, start, end, alias: text.slice(start, end) });
      }
    }
    return hits.sort((a, b) => a.start - b.start);
  }
}

/** Build the catalog the parsers match against. */
export function buildIndicatorCatalog(indicators: readonly Indicator[]): IndicatorCatalog {
  return new IndicatorCatalog(indicators);
}

/** Monthly unless the indicator is only compiled per quarter (see periods.ts). */
export function indicatorFrequency(code: string): Frequency {
  return QUARTERLY_CODES.has(code) || code.endsWith('_va') ? 'quarterly' : 'monthly';
}

/**
 * The comparable form of a row label: full-width folded, whitespace removed, the sub-row mark,
 * outline number, trailing unit in parentheses and trailing colon stripped, lower-cased.
 */
export function normalizeLabel(label: string): string {
  let text = normalizeWidth(label).trim();
  // English labels keep one space between words; Chinese labels lose all whitespace.
  text = /[a-z]{2}/i.test(text) ? text.replace(/\s+/g, ' ') : text.replace(/\s+/g, '');
  for (let previous = ''; previous !== text; ) {
    previous = text;
    text = text
      .replace(SUB_ROW_PREFIX, '')
      .replace(OUTLINE_PREFIX, '')
      .replace(/\s*[([][^()[\]]*[)\]]\s*$/, '')
      .replace(/[:：]\s*$/, '')
      .trim();
  }
  return text.toLowerCase();
}

/** Fold running text for alias search: full-width to ASCII, no line breaks inside words. */
export function normalizeText(text: string): string {
  return normalizeWidth(text).toLowerCase();
}

function isAsciiWord(text: string): boolean {
  return /^[\x20-\x7e]+$/.test(text);
}

function hasWordBoundaries(text: string, start: number, end: number): boolean {
  const before = start === 0 ? '' : text[start - 1] ?? '';
  const after = text[end] ?? '';
  return !/[a-z0-9]/i.test(before) && !/[a-z0-9]/i.test(after);
}
