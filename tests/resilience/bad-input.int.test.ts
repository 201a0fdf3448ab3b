/**
 * The bad-input corpus through the real path: each case is a source of its own in the registry,
 * served by the offline publisher, fetched by the fetcher process and normalized by the normalizer
 * process. Every case must end as a typed failure at fetch or a typed reject / failure at normalize,
 * with its reason recorded; no figure may come out of it; no worker may crash.
 *
 * Small cases are files in seeds/fixtures/bad/ (listed with their outcomes in its README); the big
 * ones (a 50 MB page, a gzip bomb, zip bombs, markup nested 100 000 deep) are made here.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers';
import { deeplyNestedPage, gzipBomb, hugePage, noise, pngImage, xlsxZipBomb } from './generate';
import { runCorpus, sourceKeyOf, type CorpusCase } from './harness';

const BAD = `${ROOT}seeds/fixtures/bad/`;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const MB = 1024 * 1024;

/** Where a case must stop, and with which reason. */
type Outcome =
  /** The fetch fails (non-retryably) with this `raw.fetch_log` error code; nothing is archived. */
  | { at: 'fetch'; code: string }
  /** The document is archived; its normalize job ends `job` with this `core.reject` reason. */
  | { at: 'normalize'; job: 'completed' | 'failed'; reason: string };

type BadCase = CorpusCase & { outcome: Outcome };

const file = (name: string) => readFileSync(`${BAD}${name}`);
const rejected = (reason: string): Outcome => ({ at: 'normalize', job: 'completed', reason });
const unreadable: Outcome = { at: 'normalize', job: 'failed', reason: 'unreadable_document' };
const refusedAtFetch = (code: string): Outcome => ({ at: 'fetch', code });

/** A committed page of seeds/fixtures/bad/, served as a monthly statistics table. */
const page = (name: string, outcome: Outcome, contentType = 'text/html; charset=utf-8'): BadCase => ({
  name: name.replace(/\.[a-z]+$/, '').replace(/[^a-z0-9-]/g, '-'),
  path: `tjsj/ydsj/${name}`,
  format: 'stats-table',
  body: file(name),
  contentType,
  outcome,
});

const good = readFileSync(`${ROOT}seeds/fixtures/cases/monthly-indicators.xlsx`);

const CASES: BadCase[] = [
  // Markup that ends early or never closes.
  page('truncated-in-first-row.html', rejected('unreadable_document')),
  page('unclosed-comment.html', rejected('no_records')),
  page('unclosed-script.html', rejected('no_records')),
  { name: 'deeply-nested-divs', path: 'tjsj/ydsj/deep-divs.html', format: 'stats-table', body: deeplyNestedPage(100_000), outcome: unreadable },
  { name: 'deeply-nested-tables', path: 'tjsj/ydsj/deep-tables.html', format: 'stats-table', body: deeplyNestedPage(5_000, 'table'), outcome: unreadable },
  // Encodings.
  page('wrong-charset-gbk-as-utf8.html', unreadable),
  page('mixed-encodings.html', unreadable),
  // Tables and numbers.
  page('swapped-columns.html', rejected('ambiguous_column')),
  page('number-1.2.3.html', rejected('unparseable_number')),
  page('number-nan.html', rejected('unparseable_number')),
  page('number-infinity-sign.html', rejected('unparseable_number')),
  page('number-infinity-word.html', rejected('unparseable_number')),
  page('number-exponent.html', rejected('unparseable_number')),
  page('number-bad-grouping.html', rejected('unparseable_number')),
  page('number-double-minus.html', rejected('unparseable_number')),
  page('number-fullwidth-two-points.html', rejected('unparseable_number')),
  page('number-two-values.html', rejected('unparseable_number')),
  page('number-hex.html', rejected('unparseable_number')),
  page('number-all-dashes.html', rejected('no_records')),
  page('sql-in-label.html', rejected('unknown_indicator')),
  // Not what they claim to be.
  page('error-page-200.html', rejected('no_records')),
  page('pdf-as-html.html', rejected('unsupported_format'), 'text/html'),
  { name: 'png-as-html', path: 'tjsj/ydsj/chart.html', format: 'stats-table', body: pngImage(7), contentType: 'text/html; charset=utf-8', outcome: unreadable },
  { name: 'binary-noise-as-html', path: 'tjsj/ydsj/noise.html', format: 'stats-table', body: noise(64 * 1024, 11), contentType: 'text/html', outcome: unreadable },
  { name: 'empty-body', path: 'tjsj/ydsj/empty.html', format: 'stats-table', body: Buffer.alloc(0), outcome: { at: 'normalize', job: 'failed', reason: 'empty_document' } },
  { name: 'xlsx-that-is-html', path: 'tjsj/ydsj/xlsx-that-is-html.xlsx', format: 'xls', body: file('xlsx-that-is-html.xlsx'), contentType: XLSX, outcome: unreadable },
  { name: 'xlsx-truncated', path: 'tjsj/ydsj/truncated.xlsx', format: 'xls', body: good.subarray(0, Math.floor(good.length * 0.6)), contentType: XLSX, outcome: unreadable },
  { name: 'xlsx-bad-numbers', path: 'tjsj/ydsj/xlsx-bad-numbers.xlsx', format: 'xls', body: file('xlsx-bad-numbers.xlsx'), contentType: XLSX, outcome: rejected('unparseable_number') },
  // Bombs: a zip attachment inflating to 2 GB, stating its size or lying about it.
  { name: 'zip-bomb-declared', path: 'tjsj/ydsj/bomb-declared.xlsx', format: 'xls', body: xlsxZipBomb(2, 'truth'), contentType: XLSX, outcome: rejected('too_large') },
  { name: 'zip-bomb-lying', path: 'tjsj/ydsj/bomb-lying.xlsx', format: 'xls', body: xlsxZipBomb(2, 'lie'), contentType: XLSX, outcome: rejected('too_large') },
  // Stopped at fetch: too big, looping, missing, not a page.
  { name: 'page-50mb', path: 'tjsj/ydsj/huge.html', format: 'stats-table', body: hugePage(50 * MB), outcome: refusedAtFetch('body_too_large') },
  { name: 'page-50mb-streamed', path: 'tjsj/ydsj/huge-streamed.html', format: 'stats-table', faults: [{ fault: { kind: 'oversized', bytes: 50 * MB } }], outcome: refusedAtFetch('body_too_large') },
  { name: 'gzip-bomb', path: 'tjsj/ydsj/gzip-bomb.html', format: 'stats-table', body: gzipBomb(1024), headers: { 'content-encoding': 'gzip' }, outcome: refusedAtFetch('body_too_large') },
  { name: 'redirect-loop', path: 'tjsj/ydsj/loop.html', format: 'stats-table', faults: [{ fault: { kind: 'redirect-loop' } }], outcome: refusedAtFetch('redirect_loop') },
  {
    name: 'redirect-chain',
    path: 'tjsj/ydsj/r0.html',
    format: 'stats-table',
    faults: Array.from({ length: 7 }, (_, i) => ({ path: `tjsj/ydsj/r${i}.html`, fault: { kind: 'redirect' as const, location: `/bad-input.nst.test/tjsj/ydsj/r${i + 1}.html` } })),
    outcome: refusedAtFetch('too_many_redirects'),
  },
  { name: 'not-found', path: 'tjsj/ydsj/gone.html', format: 'stats-table', outcome: refusedAtFetch('http_404') },
  { name: 'image-content-type', path: 'tjsj/ydsj/chart.png', format: 'stats-table', body: pngImage(3), contentType: 'image/png', outcome: refusedAtFetch('unexpected_content_type') },
  { name: 'pdf-content-type', path: 'tjsj/ydsj/bulletin.pdf', format: 'bulletin', body: file('pdf-as-html.html'), contentType: 'application/pdf', outcome: refusedAtFetch('unexpected_content_type') },
];

interface CaseResult {
  fetchLog: Array<{ outcome: string; error_code: string | null }>;
  documents: number[];
  normalizeJob?: { state: string; failedReason?: string; attemptsMade: number };
  rejects: Array<{ reason: string; detail: string }>;
  observations: number;
}

describe('bad input', () => {
  const results = new Map<string, CaseResult>();
  let health: { running: Record<string, boolean>; processes: number; ready: Record<string, number>; normalizerRssMb: number; observations: number; aggregateJobs: number };

  beforeAll(async () => {
    await runCorpus(CASES, async ({ db, queues, services }) => {
      for (const c of CASES) {
        const key = sourceKeyOf(c);
        const fetchLog = (await db.pool.query('SELECT outcome, error_code FROM raw.fetch_log WHERE source_key = $1 ORDER BY id', [key])).rows;
        const documents = (await db.pool.query<{ id: number }>('SELECT id FROM raw.document WHERE source_key = $1 ORDER BY id', [key])).rows.map((r) => r.id);
        const job = documents[0] ? await queues.normalize.getJob(`doc|${documents[0]}`) : undefined;
        const rejects = (await db.pool.query('SELECT reason, detail FROM core.reject WHERE document_id = ANY($1::bigint[]) ORDER BY id', [documents])).rows;
        const observations = Number((await db.pool.query('SELECT count(*) AS n FROM core.observation WHERE document_id = ANY($1::bigint[])', [documents])).rows[0].n);
        results.set(c.name, {
          fetchLog,
          documents,
          ...(job ? { normalizeJob: { state: await job.getState(), failedReason: job.failedReason, attemptsMade: job.attemptsMade } } : {}),
          rejects,
          observations,
        });
      }
      const ready: Record<string, number> = {};
      for (const [stage, port] of services.ports) {
        if (stage !== 'aggregator') ready[stage] = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      }
      const metrics = await (await fetch(`http://127.0.0.1:${services.ports.get('normalizer')}/metrics`)).text();
      health = {
        running: services.running(),
        processes: services.history.length,
        ready,
        normalizerRssMb: Math.round(Number(/^process_resident_memory_bytes\{[^}]*\} (\S+)/m.exec(metrics)?.[1] ?? 0) / MB),
        observations: Number((await db.pool.query('SELECT count(*) AS n FROM core.observation')).rows[0].n),
        aggregateJobs: (await queues.aggregate.getJobCountByTypes('completed', 'failed', 'waiting', 'active', 'delayed')),
      };
    });
  }, 240_000);

  it('has at least 30 cases, each with its own source', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s ends with its typed reason, and no figure comes from it', (_name, c) => {
    const result = results.get(c.name)!;
    expect(result, c.name).toBeDefined();
    expect(result.observations).toBe(0);
    if (c.outcome.at === 'fetch') {
      // One attempt, failed for good, with the reason; nothing archived, nothing handed on.
      expect(result.fetchLog).toEqual([{ outcome: 'failed', error_code: c.outcome.code }]);
      expect(result.documents).toEqual([]);
      expect(result.normalizeJob).toBeUndefined();
      return;
    }
    expect(result.fetchLog).toEqual([{ outcome: 'archived', error_code: null }]);
    expect(result.documents).toHaveLength(1);
    expect(result.normalizeJob?.state).toBe(c.outcome.job);
    if (c.outcome.job === 'failed') {
      // Non-retryable: failed once, with the reason first in the job's failure.
      expect(result.normalizeJob?.attemptsMade).toBe(1);
      expect(result.normalizeJob?.failedReason).toMatch(/^[a-z_]+: /);
    }
    expect(result.rejects.map((r) => r.reason)).toContain(c.outcome.reason);
    expect(result.rejects.every((r) => r.detail.length > 0)).toBe(true);
  });

  it('takes no worker down: both processes ran the whole corpus, stay ready, and the zip bombs were never inflated', () => {
    expect(health.running).toMatchObject({ fetcher: true, normalizer: true });
    // Started once each, never restarted (a crash would have needed a new process).
    expect(health.processes).toBe(3);
    expect(health.ready).toEqual({ fetcher: 200, normalizer: 200 });
    expect(health.normalizerRssMb).toBeLessThan(1024);
    // No figure at all came out of the corpus, so nothing reached the aggregator.
    expect(health.observations).toBe(0);
    expect(health.aggregateJobs).toBe(0);
  });
});
