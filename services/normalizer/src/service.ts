/** Public surface of the normalizer service for the CLI and tests (parsers: see index.ts). */
export { NormalizerEnv } from './env';
export { createNormalizeWorker, loadCatalog } from './worker';
export { normalizeDocument, type NormalizeDeps, type NormalizeResult } from './jobs/normalize-document';
export { canonicalDecimal, deriveVintages } from './vintages';
