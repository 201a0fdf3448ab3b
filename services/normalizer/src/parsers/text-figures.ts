/**
 * Figures in running text (bulletins, reports, news), in Chinese and English.
 *
 * A sentence is cut at each indicator it names as a *subject*; the figures that follow a subject,
 * up to the next subject, a "其中", or a second money amount (a new item), belong to it:
 *
 *   全年实现地区生产总值1725.00亿元，按可比价格计算，比上年增长5.2%。
 *   └ subject ─────────┘└ level ──┘ └ basis ─────┘   └ growth ┘
 *
 * An indicator named after 占 ("占规模以上工业总产值比重为28.9%") is the denominator of a share,
 * not a subject; one that another word qualifies ("工业固定资产投资") is a different statistic and
 * is not read as the catalog's "固定资产投资".
 */
import type { GrowthBasis, Measure, ObservationStatus } from '@nst/shared/domain';
import type { Indicator } from '@nst/shared/seeds';
import type { AliasHit, IndicatorCatalog } from '../indicators';
import { normalizeText } from '../indicators';
import { negateDecimal, parseQuantity, type Quantity } from '../numbers';

export type Lang = 'zh' | 'en';

/** One figure found in a sentence, before period and district are attached. */
export interface TextFigure {
  indicator: Indicator;
  measure: Measure;
  value: string;
  unit: 'CNY' | 'pct' | 'pp' | 'count';
  unitMult: number;
  basis: GrowthBasis;
  /** Hedged wording before the number (约, 近, 突破, 超过, about, over …). */
  hedged: boolean;
  rawValue: string;
  /** Offsets of the subject and the figure in the sentence, for the locator and the period. */
  subjectStart: number;
  end: number;
}

/** Text that may stand right before a subject in Chinese: punctuation, digits or these words. */
const ZH_SUBJECT_BEFORE = /(?:^|[，。；：、,;:(（\s\d"“]|实现|完成|全年|全区|全市|本区|其中|累计|当年|共|达|年|月|季度|的|为|与|和|及|区|市|内|中|是)$/;
/** Words that make the following indicator the base of a share or comparison, not a subject. */
const ZH_DENOMINATOR_BEFORE = /占[^，。；,;]{0,6}$|相当于[^，。；,;]{0,6}$/;
const EN_DENOMINATOR_BEFORE = /\bof\s+(?:the\s+)?(?:city's|district's|shanghai's|total|whole)\s+$|\b(?:percent|%)\s+of\s+(?:the\s+)?$/i;

const ZH_HEDGE = /(?:预计|约|近|突破|超过|逾|超|接近|约为|大约)\s*$/;
const EN_HEDGE = /\b(?:about|around|approximately|nearly|almost|over|more than|exceeding|exceeded|topped|surpassed|roughly|some)\s*$/i;

const ZH_DOWN = /下降|减少|回落|降低|负增长/;
const EN_DOWN = /\b(?:down|fell|fall|falling|decreased?|decline[sd]?|dropped|drop|contracted|shrank)\b/i;

/**
 * Subjects in a sentence: alias hits that are not denominators and, unless `qualified` is allowed,
 * not qualified by another word. A goal may name a qualified indicator ("新增规上工业总产值占全市
 * 新增的20%") and still be about that indicator; a figure may not.
 */
export function findSubjects(sentence: string, catalog: IndicatorCatalog, lang: Lang, options: { qualified?: boolean } = {}): AliasHit[] {
  const folded = normalizeText(sentence);
  return catalog.findAliases(folded).filter((hit) => {
    const before = sentence.slice(Math.max(0, hit.start - 12), hit.start);
    if (lang === 'en') return !EN_DENOMINATOR_BEFORE.test(before);
    if (ZH_DENOMINATOR_BEFORE.test(before)) return false;
    return options.qualified === true || ZH_SUBJECT_BEFORE.test(before);
  });
}

/** The figures of every subject of one sentence. */
export function readSentenceFigures(sentence: string, catalog: IndicatorCatalog, lang: Lang): TextFigure[] {
  const subjects = findSubjects(sentence, catalog, lang);
  const figures: TextFigure[] = [];
  subjects.forEach((subject, i) => {
    const next = subjects[i + 1]?.start ?? sentence.length;
    let end = next;
    const cut = lang === 'zh' ? sentence.slice(subject.end, next).search(/其中/) : -1;
    if (cut >= 0) end = subject.end + cut;
    figures.push(...readSegment(sentence, subject, end, lang));
  });
  return figures;
}

export interface Token {
  quantity: Quantity;
  start: number;
  end: number;
}

/**
 * The quantities of a stretch of text, with their offsets (plus `offset`). Years, months, days,
 * ranges ("1-10月") and ordinals are not quantities.
 */
export function findQuantities(text: string, offset = 0): Token[] {
  const tokens: Token[] = [];
  const pattern = /([+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(个百分点|百分点|%|万亿元|亿元|百万元|万元|千元|元|万亿|亿|万|(?:trillion|billion|million)\s+(?:yuan|rmb)|trillion|billion|million|yuan|percentage points?|percent|per cent)?/gi;
  for (const match of text.matchAll(pattern)) {
    const numberText = match[1] ?? '';
    // A year, a month or a day ("2024年", "10月", "1-10月") is not a figure.
    const after = text.slice((match.index ?? 0) + match[0].length, (match.index ?? 0) + match[0].length + 2);
    if (!match[2] && /^(?:年|月|日|季|号|家|个|项|届|次|st|nd|rd|th)/.test(after)) continue;
    if (!match[2] && /^[-~～至到]\s*\d/.test(after)) continue;
    const before = text.slice(Math.max(0, (match.index ?? 0) - 4), match.index ?? 0);
    if (/[\d.-]$/.test(before)) continue;
    // A conversion into another currency ("($17.6 billion)", "约18亿美元") is not the published figure.
    if (/(?:\$|US\$|USD\s?|美元)\s*$/i.test(before) || /^\s*(?:美元|U\.?S\.?\s+dollars|dollars|USD)/i.test(text.slice((match.index ?? 0) + match[0].length))) continue;
    const quantity = parseQuantity(numberText, match[2] ?? '');
    if (quantity) tokens.push({ quantity, start: offset + (match.index ?? 0), end: offset + (match.index ?? 0) + match[0].length });
  }
  return tokens;
}

function isMoney(quantity: Quantity): boolean {
  return quantity.unit === 'CNY' || (quantity.unit === undefined && quantity.unitMult > 0);
}

function readSegment(sentence: string, subject: AliasHit, end: number, lang: Lang): TextFigure[] {
  const indicator = subject.indicator;
  const figures: TextFigure[] = [];
  const tokens = findQuantities(sentence.slice(subject.end, end), subject.end);
  let level: Token | undefined;
  let growth = false;
  let share = false;
  let pp = false;
  for (const token of tokens) {
    const before = sentence.slice(subject.end, token.start);
    const near = sentence.slice(Math.max(subject.end, token.start - 14), token.start);
    const { quantity } = token;
    if (isMoney(quantity)) {
      // A second amount after this subject's own is another item's ("其中…" without the word).
      if (level) break;
      if (indicator.unit !== 'CNY') continue;
      level = token;
      figures.push(figure(indicator, 'level', quantity.value, { unit: 'CNY', unitMult: quantity.unitMult }, 'unknown', hedgedBefore(near, lang), quantity.raw, subject, token));
      continue;
    }
    if (quantity.unit === 'pct') {
      if (!share && isShareContext(near, lang)) {
        share = true;
        figures.push(figure(indicator, 'share_pct', quantity.value, { unit: 'pct', unitMult: 0 }, 'unknown', hedgedBefore(near, lang), quantity.raw, subject, token));
        continue;
      }
      if (!growth && isGrowthContext(near, lang)) {
        growth = true;
        const value = isDown(near, lang) && !quantity.value.startsWith('-') ? negateDecimal(quantity.value) : quantity.value;
        // English states the basis after the rate ("up 5.1 percent year on year").
        const basisText = lang === 'en' ? `${before} ${sentence.slice(token.end, token.end + 30)}` : before;
        figures.push(figure(indicator, 'yoy_pct', value, { unit: 'pct', unitMult: 0 }, readTextBasis(basisText, sentence, indicator), hedgedBefore(near, lang), quantity.raw, subject, token));
      }
      continue;
    }
    if (quantity.unit === 'pp' && !pp && isYearOnYearChange(near, lang)) {
      pp = true;
      const value = isDown(near, lang) && !quantity.value.startsWith('-') ? negateDecimal(quantity.value) : quantity.value;
      figures.push(figure(indicator, 'pp_change', value, { unit: 'pp', unitMult: 0 }, 'unknown', false, quantity.raw, subject, token));
    }
  }
  // "与上年持平": a published zero growth, the only zero ever written without a digit.
  if (!growth && lang === 'zh') {
    const flat = /(?:与上年|与去年|同比)(?:同期)?持平/.exec(sentence.slice(subject.end, end));
    if (flat) {
      const start = subject.end + flat.index;
      figures.push(figure(indicator, 'yoy_pct', '0', { unit: 'pct', unitMult: 0 }, readTextBasis(sentence.slice(subject.end, start), sentence, indicator), false, flat[0], subject, { start, end: start + flat[0].length }));
    }
  }
  return figures;
}

function figure(
  indicator: Indicator,
  measure: Measure,
  value: string,
  unit: { unit: TextFigure['unit']; unitMult: number },
  basis: GrowthBasis,
  hedged: boolean,
  rawValue: string,
  subject: AliasHit,
  token: { start: number; end: number },
): TextFigure {
  return { indicator, measure, value, ...unit, basis, hedged, rawValue, subjectStart: subject.start, end: token.end };
}

function hedgedBefore(near: string, lang: Lang): boolean {
  return lang === 'zh' ? ZH_HEDGE.test(near) : EN_HEDGE.test(near);
}

function isShareContext(near: string, lang: Lang): boolean {
  return lang === 'zh' ? /(?:比重|占比|份额)(?:为|达|达到|是|提高到|升至)?\s*$/.test(near) : /\b(?:share|proportion|accounting for|accounted for|accounts for)\b[^,.]*$/i.test(near);
}

function isGrowthContext(near: string, lang: Lang): boolean {
  if (lang === 'zh') return /(?:增长|增加|上升|提高|下降|减少|回落|降低|增速|增幅)(?:了|为|达|达到|幅度为)?\s*$/.test(near);
  return /\b(?:up|grew|growth of|growing|increased?|rose|rising|expanded|down|fell|decreased?|declined?|dropped|contracted|by|of)\s*$/i.test(near) && /\b(?:up|grew|growth|growing|increase|rose|rising|expand|down|fell|decrease|decline|dropped|contracted)/i.test(near);
}

function isYearOnYearChange(near: string, lang: Lang): boolean {
  return lang === 'zh' ? /(?:比上年|比去年|同比)(?:同期)?(?:提高|上升|增加|下降|回落|降低|减少)\s*$/.test(near) : /\b(?:up|down|rose|fell)\b[^,.]*$/i.test(near);
}

function isDown(near: string, lang: Lang): boolean {
  return lang === 'zh' ? ZH_DOWN.test(near.slice(-6)) : EN_DOWN.test(near);
}

/**
 * The basis of a growth rate: stated between the subject and the rate (按可比价格计算, 现价,
 * 同比, "at comparable prices", "year on year"); for value added also anywhere in the sentence,
 * since "按可比价格计算" is said once for GDP and its 其中 components.
 */
function readTextBasis(between: string, sentence: string, indicator: Indicator): GrowthBasis {
  const stated = basisWords(between);
  if (stated) return stated;
  if (indicator.code === 'gdp' || indicator.code.endsWith('_va')) {
    if (/可比价|不变价|comparable prices|constant prices/i.test(sentence)) return 'comparable';
  }
  return 'unknown';
}

function basisWords(text: string): GrowthBasis | undefined {
  if (/可比价|可比口径|不变价|comparable prices|constant prices/i.test(text)) return 'comparable';
  if (/现价|current prices|nominal/i.test(text)) return 'nominal';
  if (/同比|year[- ]on[- ]year|y-o-y/i.test(text)) return 'nominal';
  return undefined;
}

/** Split running text into sentences; a decimal point or a thousands comma never ends one. */
export function splitSentences(text: string, lang: Lang): string[] {
  const pieces = lang === 'zh' ? text.split(/(?<=[。；！？!?;])|\n+/) : text.split(/(?<=[.!?;])\s+(?=["“A-Z0-9])|\n+/);
  return pieces.map((piece) => piece.trim()).filter((piece) => piece !== '');
}

/** Status of a text figure: hedged wording is an estimate; 初步核算 / 快报 provisional. */
export function textStatus(sentence: string, documentTitle: string, hedged: boolean): ObservationStatus {
  if (hedged || /预计|预估/.test(sentence)) return 'estimated';
  if (/初步核算|快报|初步统计|preliminary/i.test(`${sentence} ${documentTitle}`)) return 'provisional';
  return 'final';
}
