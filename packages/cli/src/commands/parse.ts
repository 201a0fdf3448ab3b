/**
 * `nst parse FILE`: dry-run the normalizer's parsers on a local file and print one JSON line per
 * record. Needs neither PostgreSQL nor Redis (it never calls `context()`); reads any encoding.
 */
import { readFile, stat } from 'node:fs/promises';
import { District, SourceFormat } from '@nst/shared/domain';
import { NstError } from '@nst/shared/errors';
import type { ParsedRecord } from '@nst/normalizer';
import type { Register } from '../main';

export interface ParseCommandOptions {
  /** stats-table | bulletin | news-article | xls; sniffed from the file when absent. */
  format?: string;
  /** baoshan | jinshan | shanghai; taken from the page when absent. */
  district?: string;
  /** zh | en; detected from the text when absent. */
  lang?: string;
}

export const registerParse: Register = (program) => {
  program
    .command('parse')
    .description('run a parser on a local file (no database, no network) and print its records as JSON lines')
    .argument('<file>', 'an HTML page, a text file or an XLSX workbook')
    .option('--format <format>', 'stats-table | bulletin | news-article | xls (default: sniffed)')
    .option('--district <district>', 'baoshan | jinshan | shanghai (default: from the page)')
    .option('--lang <lang>', 'zh | en (default: detected)')
    .action(async (file: string, options: ParseCommandOptions) => {
      const lines = await parseFileToLines(file, options);
      // `nst parse FILE | head` closes the pipe early; that is the reader's choice, not a failure.
      process.stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPIPE') throw error;
      });
      for (const line of lines) process.stdout.write(`${line}\n`);
    });
};

/** The JSON lines `nst parse` prints for a file. Exported for tests. */
export async function parseFileToLines(file: string, options: ParseCommandOptions): Promise<string[]> {
  const format = readOption('format', options.format, SourceFormat.options);
  const district = readOption('district', options.district, District.options);
  const lang = readOption('lang', options.lang, ['zh', 'en'] as const);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new NstError('usage', `cannot read ${file}: ${(error as Error).message}`);
  }
  const { mtime } = await stat(file);
  // Loaded here, not at the top: every command would pay for these modules at start.
  const [{ decodeBody }, { loadSeeds }, { buildIndicatorCatalog, guessFormat, parseDocument }] = await Promise.all([
    import('@nst/shared/charset'), import('@nst/shared/seeds'), import('@nst/normalizer')]);
  const text = bytes.length > 0 && !bytes.subarray(0, 2).equals(Buffer.from('PK')) ? decodeBody(bytes).text : undefined;
  const { indicators } = await loadSeeds();
  const result = await parseDocument(
    {
      bytes,
      ...(text !== undefined ? { text } : {}),
      format: format ?? guessFormat(bytes, text ?? ''),
      ...(district ? { district } : {}),
      ...(lang ? { lang } : {}),
      url: file,
      fetchedAt: mtime,
    },
    buildIndicatorCatalog(indicators),
  );
  return result.records.map((record) => JSON.stringify(orderFields(record)));
}

function readOption<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new NstError('usage', `--${name} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
}

/** Observations print their fields in the documented order, the verbatim value last. */
function orderFields(record: ParsedRecord): ParsedRecord {
  if (record.kind !== 'observation') return record;
  const { kind, district, indicator, measure, accumulation, period, value, unit, unitMult, status, basis, locator, rawValue } = record;
  return { kind, district, indicator, measure, accumulation, period, value, unit, unitMult, status, basis, locator, rawValue };
}
