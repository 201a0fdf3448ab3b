/**
 * bulletin: statistical bulletins (统计公报) and economic reports as running Chinese text.
 *
 * The document's period is its title's ("2025年前三季度…经济运行情况" → Q3 ytd) or its year
 * ("宝山区2024年国民经济和社会发展统计公报" → 2024); a sentence that names another period
 * ("上半年，…") overrides it for the figures after the mention, and the mention carries on through
 * its paragraph. Bulletins name hundreds of figures the catalog does not track (population,
 * harbour throughput …): only figures of catalog indicators are read, so nothing else is rejected.
 */
import { findPageDistrict } from '../districts';
import { indicatorFrequency, type IndicatorCatalog } from '../indicators';
import { normalizeDigits } from '../numbers';
import { findLastPeriodMention, findYear, readPeriodSpan, toPeriodRef, type PeriodSpan } from '../periods';
import type { ObservationRecord, ParseInput, ParseResult, ParsedRecord } from '../records';
import { loadPage, readArticleText } from './page';
import { readSentenceFigures, splitSentences, textStatus } from './text-figures';

/** Longest text span kept in a locator. */
const MAX_LOCATOR_SPAN = 120;

export function parseBulletin(input: ParseInput, catalog: IndicatorCatalog): ParseResult {
  const page = loadPage(input);
  const text = normalizeDigits(readArticleText(page.$));
  const meta = { title: page.title, ...(page.publishedAt ? { publishedAt: page.publishedAt } : {}) };
  const locator = input.url ?? 'document';
  const district = input.district ?? findPageDistrict(page.title) ?? findPageDistrict(text.slice(0, 200));
  if (!district) {
    return { ...meta, records: [{ kind: 'reject', reason: 'unknown_district', detail: 'neither the source nor the title names a district', locator }] };
  }
  const published = page.publishedAt ? new Date(page.publishedAt) : input.fetchedAt;
  const publishedYear = published?.getUTCFullYear();
  // A bulletin reports the year before its publication; the title says which when it can.
  const year = findYear(page.title) ?? findYear(text.slice(0, 300)) ?? (publishedYear === undefined ? undefined : publishedYear - 1);
  if (year === undefined) {
    return { ...meta, records: [{ kind: 'reject', reason: 'unknown_period', detail: 'no year in the title, the text or the publication date', locator }] };
  }
  const titleSpan = readPeriodSpan(page.title.replace(/统计公报|国民经济和社会发展/g, ''));
  const documentSpan: PeriodSpan = titleSpan && titleSpan.kind !== 'month' ? { ...titleSpan, year: titleSpan.year ?? year } : { kind: 'year', year };

  const records: ParsedRecord[] = [];
  text.split('\n').forEach((paragraph, paragraphIndex) => {
    let carried: PeriodSpan | undefined;
    let before = '';
    for (const sentence of splitSentences(paragraph, 'zh')) {
      for (const figure of readSentenceFigures(sentence, catalog, 'zh')) {
        // GDP accounting is introduced once per paragraph ("经初步核算…按可比价格计算…。其中，第二产业
        // 增加值…"): its basis and status carry to the value-added components that follow.
        const accounting = indicatorFrequency(figure.indicator.code) === 'quarterly' ? before : '';
        const mention = findLastPeriodMention(sentence.slice(0, figure.subjectStart), publishedYear);
        const span = mention ?? carried ?? documentSpan;
        const ref = toPeriodRef(span, { year, frequency: indicatorFrequency(figure.indicator.code) });
        const spanText = sentence.slice(figure.subjectStart, figure.end).slice(0, MAX_LOCATOR_SPAN);
        const figureLocator = `p[${paragraphIndex}] "${spanText}"`;
        if (!ref) {
          records.push({ kind: 'reject', reason: 'unknown_period', detail: 'the sentence names no period the year can complete', locator: figureLocator, raw: sentence });
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
          status: textStatus(`${accounting} ${sentence}`, page.title, figure.hedged),
          basis: figure.basis === 'unknown' && figure.measure === 'yoy_pct' && /可比价|不变价/.test(accounting) ? 'comparable' : figure.basis,
          rawValue: figure.rawValue,
          locator: figureLocator,
        };
        records.push(observation);
      }
      carried = findLastPeriodMention(sentence, publishedYear) ?? carried;
      before += sentence;
    }
  });
  if (records.length === 0) {
    records.push({ kind: 'reject', reason: 'no_records', detail: 'no figure of a catalog indicator in the text', locator });
  }
  return { ...meta, records };
}
