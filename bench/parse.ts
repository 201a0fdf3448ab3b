/**
 * Measure 1, `parse`: the parsers in a tight loop over the fixture corpus (seeds/fixtures/sites:
 * stats-table pages, bulletins, news, XLSX), each page given to the parser as the normalizer gets
 * it after an offline fetch (the registry's format, district and language; the publisher's
 * Content-Type; the decoded text the archive keeps). No I/O inside the loop: this is the ceiling
 * for everything downstream. The synthetic article of the pipeline benchmark is timed the same
 * way, so the reprocess figure can be read against the page it actually re-parses.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildIndicatorCatalog, parseDocument, type IndicatorCatalog, type ParseInput } from '@nst/normalizer';
import { decodeBody } from '@nst/shared/charset';
import { loadSeeds, SEEDS_DIR, type Source } from '@nst/shared/seeds';
import { parse as parseYaml } from 'yaml';
import { note, report, round } from './harness';
import { BENCH_HOST, benchArticles, generateBenchSite } from './site';

const SITES = `${SEEDS_DIR}fixtures/sites`;

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Every fixture page a registry source claims as a document, as the normalizer would get it. */
export async function loadCorpus(): Promise<ParseInput[]> {
  const sources = (await loadSeeds()).sources;
  const manifest = parseYaml(readFileSync(`${SEEDS_DIR}fixtures/publisher.yaml`, 'utf8')) as { overrides?: Array<{ path: string; contentType?: string }> };
  const overrides = new Map((manifest.overrides ?? []).map((o) => [o.path, o.contentType]));
  const inputs: ParseInput[] = [];
  for (const file of listFiles(SITES)) {
    const page = relative(SITES, file);
    const url = new URL(`https://${page}`);
    const source = sources.find((s: Source) => new URL(s.url).host === url.host && s.discovery.links && new RegExp(s.discovery.links).test(url.pathname));
    if (!source) continue; // list pages, robots.txt
    const xlsx = /\.xlsx?$/i.test(url.pathname);
    const contentType = overrides.get(page) ?? (xlsx ? 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' : 'text/html; charset=utf-8');
    const bytes = readFileSync(file);
    inputs.push({
      bytes,
      ...(xlsx ? {} : { text: decodeBody(bytes, contentType).text }),
      contentType,
      url: url.toString(),
      format: xlsx ? 'xls' : source.format === 'news-list' ? 'news-article' : source.format,
      lang: source.lang,
      ...(source.district ? { district: source.district } : {}),
    });
  }
  return inputs;
}

/** Parse `inputs` over and over for at least `seconds`; documents and records per second. */
async function loop(inputs: readonly ParseInput[], catalog: IndicatorCatalog, seconds: number): Promise<{ documents: number; records: number; seconds: number }> {
  for (const input of inputs) await parseDocument(input, catalog); // warm-up pass
  let documents = 0;
  let records = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    for (const input of inputs) {
      records += (await parseDocument(input, catalog)).records.length;
      documents += 1;
    }
  }
  return { documents, records, seconds: (performance.now() - started) / 1000 };
}

/** `report: false`: measured for another measure's ratio (reprocess), not printed as a line of its own. */
export async function measureParse(options: { seconds: number; report?: boolean }): Promise<{ documentsPerSecond: number; syntheticPerSecond: number }> {
  const catalog = buildIndicatorCatalog((await loadSeeds()).indicators);
  const corpus = await loadCorpus();
  const formats: Record<string, number> = {};
  for (const input of corpus) formats[input.format] = (formats[input.format] ?? 0) + 1;
  if (options.report !== false) note(`parse: ${corpus.length} fixture documents (${Object.entries(formats).map(([f, n]) => `${f} ${n}`).join(', ')}), ${options.seconds} s`);
  const result = await loop(corpus, catalog, options.seconds);

  const site = generateBenchSite(1);
  const synthetic: ParseInput[] = benchArticles(site)
    .map(({ url, body, contentType }) => ({ bytes: body, text: decodeBody(body, contentType).text, contentType, url, format: 'stats-table', lang: 'zh' }));
  const bench = await loop(synthetic, catalog, Math.max(2, options.seconds / 2));

  const documentsPerSecond = round(result.documents / result.seconds);
  const syntheticPerSecond = round(bench.documents / bench.seconds);
  if (options.report === false) return { documentsPerSecond, syntheticPerSecond };
  report({
    measure: 'parse',
    documents: corpus.length,
    formats,
    seconds: round(result.seconds, 2),
    documentsPerSecond,
    recordsPerSecond: round(result.records / result.seconds),
    syntheticArticle: { host: BENCH_HOST, bytes: site.meanArticleBytes, documentsPerSecond: syntheticPerSecond, recordsPerSecond: round(bench.records / bench.seconds) },
  });
  return { documentsPerSecond, syntheticPerSecond };
}
