/**
 * What a parser produces: records validated with zod before anything is stored. A parser is a
 * pure function (bytes + source metadata → records); the normalize job stores the valid ones and
 * turns every invalid one into a reject, so one bad row never blocks the good ones.
 */
import { z } from 'zod';
import { Accumulation, District, GrowthBasis, Measure, ObservationStatus, PeriodCode, Scope } from '@nst/shared/domain';

/** Bump when a parser changes what it extracts; stored on every row, used by `nst reprocess --parser-version`. */
// 1.1.0: HTML is read with htmlparser2 instead of parse5 (five times faster). The fixture corpus
// gives the same records; badly broken markup may be repaired differently, hence the bump.
export const PARSER_VERSION = '1.1.0';

/** A decimal number as a string, at the published scale: never a float, never invented. */
export const DecimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'must be a plain decimal number');

export const ObservationRecord = z.object({
  kind: z.literal('observation'),
  district: District,
  /** Catalog code from seeds/indicators.yaml. */
  indicator: z.string().min(1),
  measure: Measure,
  accumulation: Accumulation,
  period: PeriodCode,
  value: DecimalString,
  /** `CNY`, `pct` (percent), `pp` (percentage points), `count`. */
  unit: z.enum(['CNY', 'pct', 'pp', 'count']),
  /** Power of ten of the unit: 8 for 亿元, 4 for 万元, 0 otherwise. */
  unitMult: z.number().int().min(0).max(12),
  status: ObservationStatus,
  basis: GrowthBasis,
  /** The string exactly as printed (e.g. `１,７２５.００`, `－3.2`). */
  rawValue: z.string().min(1),
  /** Where on the page: `table[0] row "规模以上工业总产值" col "1-10月"` or a text span. */
  locator: z.string().min(1),
});
export type ObservationRecord = z.infer<typeof ObservationRecord>;

export const NewsItemRecord = z.object({
  kind: z.literal('news_item'),
  title: z.string().min(1),
  lang: z.enum(['zh', 'en']),
  /** ISO 8601 with offset, when the page states it. */
  publishedAt: z.string().datetime({ offset: true }).optional(),
  districts: z.array(District),
  /** e.g. new_materials, biomedicine, intelligent_equipment, new_gen_it, hydrogen, stem_cells … */
  industries: z.array(z.string()),
  /** e.g. wusong, nanda, shu_ring, chemical_zone, bay_area_hitech, carbon_valley, binhai. */
  areas: z.array(z.string()),
  summary: z.string().optional(),
});
export type NewsItemRecord = z.infer<typeof NewsItemRecord>;

export const TargetMentionRecord = z.object({
  kind: z.literal('target_mention'),
  scope: Scope,
  indicator: z.string().optional(),
  value: DecimalString.optional(),
  unit: z.enum(['CNY', 'pct', 'pp', 'count']).optional(),
  unitMult: z.number().int().min(0).max(12).optional(),
  targetYear: z.number().int().min(2000).max(2100).optional(),
  rawText: z.string().min(1),
  locator: z.string().min(1),
});
export type TargetMentionRecord = z.infer<typeof TargetMentionRecord>;

export const RejectReason = z.enum([
  'unknown_indicator',
  'unparseable_number',
  'unknown_period',
  'unknown_unit',
  'unknown_district',
  'ambiguous_column',
  'invalid_record',
  'empty_document',
  'unreadable_document',
  'unsupported_format',
  'no_records',
  /** A document too large to read safely (a zip bomb, a workbook inflating past the bounds). */
  'too_large',
]);
export type RejectReason = z.infer<typeof RejectReason>;

export const RejectRecord = z.object({
  kind: z.literal('reject'),
  reason: RejectReason,
  detail: z.string(),
  locator: z.string(),
  /** The offending input (row cells, text span), for an operator to look at. */
  raw: z.unknown().optional(),
});
export type RejectRecord = z.infer<typeof RejectRecord>;

export const ParsedRecord = z.discriminatedUnion('kind', [ObservationRecord, NewsItemRecord, TargetMentionRecord, RejectRecord]);
export type ParsedRecord = z.infer<typeof ParsedRecord>;

/** What a parser is given. */
export interface ParseInput {
  /** The verbatim bytes. */
  bytes: Buffer;
  /** Decoded text when the caller already decoded it (the archive keeps it); else parsers decode. */
  text?: string;
  contentType?: string;
  url?: string;
  format: 'stats-table' | 'bulletin' | 'news-list' | 'news-article' | 'xls';
  /** From the source registry; absent for city-wide news sources, then taken from the page. */
  district?: District;
  lang?: 'zh' | 'en';
  /** When the document was fetched; the year fallback of last resort. */
  fetchedAt?: Date;
}

/** What a parser returns. */
export interface ParseResult {
  records: ParsedRecord[];
  /** Publication time stated on the page (ISO), the vintage of its observations. */
  publishedAt?: string;
  title?: string;
}

/** A document's records by kind, each kind in the parser's order: what is stored, and what the digest of a reading is taken over. */
export interface DocumentRecords {
  observations: ObservationRecord[];
  news: NewsItemRecord[];
  targetMentions: TargetMentionRecord[];
  rejects: RejectRecord[];
}

/**
 * A parse as the normalizer takes it on: the records grouped by kind ({@link DocumentRecords}) as
 * JSON text, which is what the digest of a reading is taken over. A parse thread hands a parse
 * over this way: a string crosses to the main thread as one copy, where records as objects were
 * cloned field by field both ways (about 155 µs a benchmark article, against 12 for the text, plus
 * 66 for `JSON.parse` when the reading is stored), and a reading whose digest equals the stored one
 * (a reprocess without a parser change) is never turned back into objects at all: about a tenth
 * less CPU for such a reprocess, the same for a backfill (docs/performance.md).
 */
export interface PackedParse {
  /** {@link DocumentRecords} as JSON (`JSON.stringify`, so fields holding undefined are left out). */
  records: string;
  publishedAt?: string;
  title?: string;
}

function groupRecords(records: readonly ParsedRecord[]): DocumentRecords {
  const grouped: DocumentRecords = { observations: [], news: [], targetMentions: [], rejects: [] };
  for (const record of records) {
    if (record.kind === 'observation') grouped.observations.push(record);
    else if (record.kind === 'news_item') grouped.news.push(record);
    else if (record.kind === 'target_mention') grouped.targetMentions.push(record);
    else grouped.rejects.push(record);
  }
  return grouped;
}

export function packParse({ records, publishedAt, title }: ParseResult): PackedParse {
  return { records: JSON.stringify(groupRecords(records)), ...(publishedAt !== undefined ? { publishedAt } : {}), ...(title !== undefined ? { title } : {}) };
}

export const unpackRecords = (packed: PackedParse): DocumentRecords => JSON.parse(packed.records) as DocumentRecords;
