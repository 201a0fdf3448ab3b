/**
 * The normalizer's public surface for the CLI (the operator's composition root) and the bench: the
 * parse entry, the parse threads as the service runs them, the catalog builder and the record
 * contract. Parsers are pure, so `nst parse` runs them without Redis or PostgreSQL.
 */
export { guessFormat, parseDocument, sniffBytes, validateRecords, type DocumentKind } from './parsers/index';
export { createParsePool, defaultParseThreads, type ParsePool, type ParsePoolOptions } from './parse-pool';
export { inputFromArchive, type ArchivedInput } from './archived-input';
export { storeDocuments, type StoreItem } from './sql/store-records';
export { createStoreStatisticsKeeper, rowsOf, storeItemOf } from './jobs/normalize-document';
export { buildIndicatorCatalog, IndicatorCatalog, indicatorFrequency, normalizeLabel } from './indicators';
export {
  PARSER_VERSION,
  ObservationRecord,
  NewsItemRecord,
  TargetMentionRecord,
  RejectRecord,
  RejectReason,
  ParsedRecord,
  packParse,
  unpackRecords,
  type PackedParse,
  type ParseInput,
  type ParseResult,
} from './records';
