/**
 * news-article: one news page, Chinese or English → a news item (title, time, districts,
 * industries, key areas), observations for figures stated as actuals (status `news`), and target
 * mentions for goals. A goal is never an observation: "力争达到4000亿元" / "strives to reach
 * 400 billion yuan by 2025" says nothing about what was achieved.
 */
import type { District, Scope } from '@nst/shared/domain';
import { findDistricts, findPageDistrict } from '../districts';
import { indicatorFrequency, type IndicatorCatalog } from '../indicators';
import { normalizeDigits } from '../numbers';
import { findLastPeriodMention, readEnglishPeriodSpan, toPeriodRef } from '../periods';
import type { NewsItemRecord, ObservationRecord, ParseInput, ParseResult, ParsedRecord, TargetMentionRecord } from '../records';
import { loadPage, readArticleText } from './page';
import { findQuantities, findSubjects, readSentenceFigures, splitSentences, type Lang } from './text-figures';

/**
 * Industries of the plan ("1+3") and the city's future industries, by the words that name them.
 * Robots are their own tag: `intelligent_equipment` only where 智能装备 itself is named.
 */
const INDUSTRIES: ReadonlyArray<{ code: string; pattern: RegExp }> = [
  { code: 'new_materials', pattern: /新材料|new materials?\b|advanced materials?/i },
  { code: 'biomedicine', pattern: /生物医药|生物制药|biomedic|biopharma|bio-pharma/i },
  { code: 'intelligent_equipment', pattern: /智能装备|智能制造装备|intelligent equipment|intelligent manufacturing equipment/i },
  { code: 'new_gen_it', pattern: /新一代信息技术|new[- ]generation (?:of )?information technolog|new-gen(?:eration)? IT\b/i },
  { code: 'hydrogen', pattern: /氢能|燃料电池|hydrogen|fuel[- ]cell/i },
  { code: 'stem_cells', pattern: /干细胞|stem[- ]cells?/i },
  { code: 'synthetic_biology', pattern: /合成生物|synthetic biology/i },
  { code: 'nev', pattern: /新能源汽车|智能网联汽车|new[- ]energy vehicles?|\bNEVs?\b|electric vehicles?/i },
  { code: 'robotics', pattern: /机器人|robot/i },
];

/** The key transformation areas of the plan. */
const AREAS: ReadonlyArray<{ code: string; pattern: RegExp }> = [
  { code: 'wusong', pattern: /吴淞|Wusong/i },
  { code: 'nanda', pattern: /南大(?!门|街)|Nanda/i },
  { code: 'shu_ring', pattern: /环上大|上大科技园|Shanghai University (?:ring|science|tech)|SHU (?:ring|area)/i },
  { code: 'chemical_zone', pattern: /化工区|化学工业区|石化|chemical industry (?:park|zone)|petrochemical/i },
  { code: 'bay_area_hitech', pattern: /湾区高新区|湾区科创|Bay Area (?:High-?tech|Hi-tech|Science)/i },
  { code: 'carbon_valley', pattern: /碳谷绿湾|Carbon Valley/i },
  { code: 'binhai', pattern: /滨海|Binhai/i },
];

const COMBINED = /两区|合计|the two districts|both districts|combined/i;

const ZH_GOAL = /力争|目标|争取|确保|计划到|预期|将达到|要达到|到20\d{2}年|至20\d{2}年|迈上|冲刺/;
const EN_GOAL = /\bstrives? to\b|\bstriving to\b|\baims? to\b|\baiming to\b|\btargets?\b|\bgoals?\b|\bby 20\d{2}\b|\bplans? to\b|\bis expected to reach\b|\bwill reach\b|\bseeks? to\b/i;

export function parseNewsArticle(input: ParseInput, catalog: IndicatorCatalog): ParseResult {
  const page = loadPage(input);
  const body = normalizeDigits(readArticleText(page.$));
  const lang: Lang = input.lang ?? detectLang(`${page.title} ${body.slice(0, 2000)}`);
  const title = page.title || body.split('\n')[0]?.slice(0, 120) || '';
  const everything = `${title}\n${body}`;
  // The city government's own portal (上海市人民政府) speaks for the city: its news is the city's too.
  const siteName = page.$('meta[name="SiteName"]').attr('content') ?? '';
  const cityPortal = /^上海市人民政府$/.test(siteName.trim());
  const districts = unique([...(input.district ? [input.district] : []), ...(cityPortal ? ['shanghai' as const] : []), ...findDistricts(everything)]);
  const item: NewsItemRecord = {
    kind: 'news_item',
    title,
    lang,
    ...(page.publishedAt ? { publishedAt: page.publishedAt } : {}),
    districts,
    industries: INDUSTRIES.filter(({ pattern }) => pattern.test(everything)).map(({ code }) => code),
    areas: AREAS.filter(({ pattern }) => pattern.test(everything)).map(({ code }) => code),
    ...(summarize(body, title) ? { summary: summarize(body, title) } : {}),
  };
  const publishedYear = page.publishedAt ? Number(page.publishedAt.slice(0, 4)) : input.fetchedAt?.getUTCFullYear();
  const pageDistrict = input.district ?? findPageDistrict(title);
  const records: ParsedRecord[] = [item];
  body.split('\n').forEach((paragraph, paragraphIndex) => {
    splitSentences(paragraph, lang).forEach((sentence, sentenceIndex) => {
      const locator = `p[${paragraphIndex}] s[${sentenceIndex}]`;
      if (isGoal(sentence, lang)) {
        const mention = readTargetMention(sentence, catalog, lang, { districts, pageDistrict, locator });
        if (mention) records.push(mention);
        return;
      }
      records.push(...readActuals(sentence, catalog, lang, { pageDistrict, publishedYear, locator }));
    });
  });
  return { records, title, ...(page.publishedAt ? { publishedAt: page.publishedAt } : {}) };
}

function isGoal(sentence: string, lang: Lang): boolean {
  return lang === 'zh' ? ZH_GOAL.test(sentence) : EN_GOAL.test(sentence);
}

interface ActualContext {
  pageDistrict: District | undefined;
  publishedYear: number | undefined;
  locator: string;
}

/** Figures stated as achieved: observations with status `news`, or rejects saying what is missing. */
function readActuals(sentence: string, catalog: IndicatorCatalog, lang: Lang, context: ActualContext): ParsedRecord[] {
  const figures = readSentenceFigures(sentence, catalog, lang);
  if (figures.length === 0) return [];
  const records: ParsedRecord[] = [];
  const mentioned = findDistricts(sentence).filter((district) => district !== 'shanghai');
  // "两区…合计突破5000亿元" / "in the two districts exceeded …": a combined figure is no district's.
  const combined = COMBINED.test(sentence);
  const cityWide = /上海市|全市|\bShanghai's\b|\bthe city\b/i.test(sentence) && mentioned.length === 0 && !combined;
  for (const figure of figures) {
    const spanText = sentence.slice(figure.subjectStart, figure.end);
    const locator = `${context.locator} "${spanText.slice(0, 120)}"`;
    const district: District | undefined = combined ? undefined : mentioned.length === 1 ? mentioned[0] : mentioned.length > 1 ? undefined : cityWide ? 'shanghai' : context.pageDistrict;
    if (!district) {
      const detail = combined || mentioned.length > 1 ? 'a figure of both districts together is not a district observation' : 'no district in the sentence or the page';
      records.push({ kind: 'reject', reason: 'unknown_district', detail, locator, raw: sentence });
      continue;
    }
    const prefix = sentence.slice(0, figure.subjectStart);
    const span = lang === 'zh' ? findLastPeriodMention(prefix, context.publishedYear) ?? findLastPeriodMention(sentence, context.publishedYear) : readEnglishPeriodSpan(sentence, context.publishedYear);
    const ref = span ? toPeriodRef(span, { ...(context.publishedYear ? { year: context.publishedYear } : {}), frequency: indicatorFrequency(figure.indicator.code) }) : undefined;
    if (!ref) {
      records.push({ kind: 'reject', reason: 'unknown_period', detail: 'the sentence states a figure without its period', locator, raw: sentence });
      continue;
    }
    const observation: ObservationRecord = {
      kind: 'observation',
      district,
      indicator: figure.indicator.code,
      measure: figure.measure,
      accumulation: ref.accumulation,
      period: ref.period,
      value: figure.value,
      unit: figure.unit,
      unitMult: figure.unitMult,
      status: 'news',
      basis: figure.basis,
      rawValue: figure.rawValue,
      locator,
    };
    records.push(observation);
  }
  return records;
}

interface TargetContext {
  districts: District[];
  pageDistrict: District | undefined;
  locator: string;
}

/**
 * A goal sentence → a target mention: its scope (both districts or 两区 → north_south), the
 * indicator when one is named, the first amount or rate, and the target year.
 */
function readTargetMention(sentence: string, catalog: IndicatorCatalog, lang: Lang, context: TargetContext): TargetMentionRecord | undefined {
  const subject = findSubjects(sentence, catalog, lang, { qualified: true })[0];
  const quantity = findFirstQuantity(sentence.slice(subject?.end ?? 0));
  // A goal with neither an indicator nor a number ("目标是建设…") is prose, not a target.
  if (!subject && !quantity) return undefined;
  const year = /(?:到|至|在)\s*(20\d{2})\s*年|\bby\s+(?:the\s+end\s+of\s+)?(20\d{2})\b|(20\d{2})\s*年(?:前|底|末)?[^，。,]{0,12}(?:力争|目标|达到)|\bin\s+(20\d{2})\b/i.exec(sentence);
  const targetYear = year ? Number(year[1] ?? year[2] ?? year[3] ?? year[4]) : undefined;
  const mention: TargetMentionRecord = {
    kind: 'target_mention',
    scope: targetScope(sentence, context),
    ...(subject ? { indicator: subject.indicator.code } : {}),
    ...(quantity?.unit ? { value: quantity.value, unit: quantity.unit, unitMult: quantity.unitMult } : {}),
    ...(targetYear ? { targetYear } : {}),
    rawText: sentence,
    locator: `${context.locator}`,
  };
  return mention;
}

function targetScope(sentence: string, context: TargetContext): Scope {
  const mentioned = findDistricts(sentence);
  const both = (mentioned.includes('baoshan') && mentioned.includes('jinshan')) || /两区|南北转型|宝山、金山|the two districts|north-south|both districts/i.test(sentence);
  if (both) return 'north_south';
  const single = mentioned.filter((district) => district !== 'shanghai');
  if (single.length === 1 && single[0]) return single[0];
  if (context.pageDistrict) return context.pageDistrict;
  if (mentioned.includes('shanghai')) return 'shanghai';
  const pageDistricts = context.districts.filter((district) => district !== 'shanghai');
  if (pageDistricts.length === 2) return 'north_south';
  return pageDistricts[0] ?? 'shanghai';
}

function findFirstQuantity(text: string): { value: string; unit?: 'CNY' | 'pct' | 'pp' | 'count'; unitMult: number } | undefined {
  const quantity = findQuantities(text).find((token) => token.quantity.unit !== undefined || token.quantity.unitMult > 0)?.quantity;
  if (!quantity) return undefined;
  // A bare 亿 in a goal is money: "力争达到4000亿".
  return quantity.unit ? quantity : { value: quantity.value, unit: 'CNY', unitMult: quantity.unitMult };
}

function detectLang(text: string): Lang {
  const cjk = text.match(/[\u4e00-\u9fff]/g)?.length ?? 0;
  return cjk > text.length * 0.1 ? 'zh' : 'en';
}

function summarize(body: string, title: string): string | undefined {
  const first = body.split('\n').find((line) => line.length > 30 && line !== title);
  return first ? first.slice(0, 200) : undefined;
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
