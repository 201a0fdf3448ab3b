/**
 * The parse pool against the inline parse: the same results and the same typed errors from worker
 * threads; a parse that runs too long or exhausts its thread's heap fails as unreadable_document
 * while the pool carries on; closing fails what is unanswered and leaves no thread behind.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { decodeBody } from '@nst/shared/charset';
import { NonRetryableError } from '@nst/shared/errors';
import { loadSeeds, type Indicator } from '@nst/shared/seeds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inputFromArchive, type ArchivedInput } from './archived-input';
import type { IndicatorCatalog } from './indicators';
import { createParsePool, ParsePoolError, type ParsePool, type ParsePoolOptions } from './parse-pool';
import { parseDocument } from './parsers/index';
import { packParse, type PackedParse, type ParseInput } from './records';
import { loadTestCatalog, readCase } from './testing';

/** Starting the first thread builds the bundle (esbuild, in a child process): seconds on a busy two-core machine. */
const SLOW = 60_000;

const page: ParseInput = { bytes: readCase('stats-table-gbk-jinshan.html'), format: 'stats-table', district: 'jinshan', contentType: 'text/html' };
const documents: Array<[string, ParseInput]> = [
  ['a GBK stats table', page],
  ['a stats table', { bytes: readCase('stats-table-districts.html'), format: 'stats-table', url: 'stats-table-districts.html' }],
  ['a quarterly table with its fetch time', { bytes: readCase('stats-table-gdp-quarterly.html'), format: 'stats-table', fetchedAt: new Date('2025-11-03T08:00:00Z') }],
  ['a bulletin', { bytes: readCase('bulletin-baoshan-2024.html'), format: 'bulletin', district: 'baoshan' }],
  ['a news article', { bytes: readCase('news-zh-baoshan.html'), format: 'news-article', district: 'baoshan', lang: 'zh' }],
  ['an English news article', { bytes: readCase('news-en-target.html'), format: 'news-article', lang: 'en' }],
  ['an XLSX workbook', { bytes: readCase('monthly-indicators.xlsx'), format: 'xls', url: 'monthly-indicators.xlsx', district: 'shanghai' }],
  ['a PDF', { bytes: readCase('bulletin-scan.pdf'), format: 'bulletin', url: 'bulletin-scan.pdf' }],
];

let indicators: Indicator[];
let catalog: IndicatorCatalog;
beforeAll(async () => {
  indicators = (await loadSeeds()).indicators;
  catalog = await loadTestCatalog();
});

function poolOf(options: Omit<ParsePoolOptions, 'indicators'>): ParsePool {
  return createParsePool({ indicators, ...options });
}

describe('a pool of two threads', () => {
  let pool: ParsePool;
  beforeAll(() => {
    pool = poolOf({ threads: 2, testHooks: true });
  });
  afterAll(() => pool.close());

  it('parses every kind of document exactly as the inline parse does', async () => {
    const threaded = await Promise.all(documents.map(([, input]) => pool.parse(input)));
    for (const [index, [name, input]] of documents.entries()) {
      const inline = await parseDocument(input, catalog);
      expect(inline.records.length, name).toBeGreaterThan(0);
      expect(threaded[index], name).toStrictEqual(packParse(inline));
    }
  }, SLOW);

  it('copies a Buffer that is a view into a larger ArrayBuffer, leaving it to its owner', async () => {
    const bytes = page.bytes;
    const backing = Buffer.concat([Buffer.from('<p>before</p>'), bytes, Buffer.from('<p>after</p>')]);
    const view = backing.subarray(13, 13 + bytes.length);
    const result = await pool.parse({ ...page, bytes: view });
    expect(result).toStrictEqual(packParse(await parseDocument(page, catalog)));
    expect(view.equals(bytes)).toBe(true);
    expect(backing.byteLength).toBe(bytes.length + 25);
  }, SLOW);

  it.each([
    ['an empty body', readCase('empty.html')],
    ['binary garbage', readCase('binary-garbage.bin')],
  ])('refuses %s with the NonRetryableError of the inline parse', async (_, bytes) => {
    const input: ParseInput = { bytes, format: 'stats-table' };
    const inline = await parseDocument(input, catalog).catch((error: unknown) => error);
    const threaded = await pool.parse(input).catch((error: unknown) => error);
    expect(inline).toBeInstanceOf(NonRetryableError);
    expect(threaded).toBeInstanceOf(NonRetryableError);
    expect(threaded).toMatchObject({ name: 'NonRetryableError', code: (inline as NonRetryableError).code, message: (inline as NonRetryableError).message });
  }, SLOW);

  it('parses an archived GBK page as the inline parse of the archive and of the fetcher\'s decoded text; refuses a body that is not gzip', async () => {
    const bytes = readCase('stats-table-gbk-jinshan.html');
    const contentType = 'text/html';
    const fields = { contentType, url: 'https://tjj.jinshan.gov.cn/2025-06.html', format: 'stats-table', district: 'jinshan', lang: 'zh', fetchedAt: new Date('2025-07-23T00:00:00Z') } as const;
    const archived: ArchivedInput = { documentId: 7, bodyGzip: gzipSync(bytes), hasText: true, ...fields };
    // The text the fetcher archived: not valid UTF-8, so decoded as GBK.
    const fetched = decodeBody(bytes, contentType);
    expect(fetched.text).toContain('金山');
    expect(bytes.toString('utf8')).not.toContain('金山');

    const threaded = await pool.parse(archived);
    const inline = await parseDocument(inputFromArchive(archived), catalog);
    const asFetched = await parseDocument({ bytes, text: fetched.text, ...fields }, catalog);
    expect(inline.records.filter((record) => record.kind === 'observation').length).toBeGreaterThan(5);
    expect(threaded).toStrictEqual(packParse(inline));
    expect(threaded).toStrictEqual(packParse(asFetched));

    const notGzip: ArchivedInput = { ...archived, bodyGzip: bytes };
    const refused = await pool.parse(notGzip).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(NonRetryableError);
    expect(refused).toMatchObject({ code: 'unreadable_document', message: 'document 7: archived body is not valid gzip' });
    // Nothing wrong with the thread: the next archived page parses.
    expect(await pool.parse(archived)).toStrictEqual(packParse(inline));
  }, SLOW);

  it('gives a document to a free thread rather than queueing it behind a slow one', async () => {
    const slow = pool.parse({ ...page, url: 'test:sleep/30000' });
    slow.catch(() => undefined); // rejected by close() in afterAll
    const first = await Promise.race([slow.then(() => 'slow'), pool.parse(page).then(() => 'page')]);
    expect(first).toBe('page');
  }, SLOW);
});

describe('a parse that misbehaves', () => {
  let pool: ParsePool;
  beforeAll(() => {
    pool = poolOf({ threads: 1, testHooks: true, parseTimeoutMs: 1_000, maxOldGenerationSizeMb: 64 });
  });
  afterAll(() => pool.close());

  /** The misbehaving parse fails alone, as unreadable_document: the one queued behind it, and the next, parse as inline. */
  async function expectFailsAlone(misbehaving: Promise<PackedParse>, queued: Promise<PackedParse>, message: string): Promise<void> {
    await expect(misbehaving).rejects.toBeInstanceOf(NonRetryableError);
    await expect(misbehaving).rejects.toMatchObject({ code: 'unreadable_document', message });
    const expected = packParse(await parseDocument(page, catalog));
    expect(await queued).toStrictEqual(expected);
    expect(await pool.parse(page)).toStrictEqual(expected);
  }

  it('fails as unreadable_document past the timeout; the document queued behind it is parsed by the replacement thread', async () => {
    await pool.parse(page); // the thread is up: the timeout counts parsing, not starting
    await expectFailsAlone(pool.parse({ ...page, url: 'test:sleep/60000' }), pool.parse(page), 'parsing took longer than 1000 ms');
  }, SLOW);

  it('fails as unreadable_document when the parse exhausts the heap; the pool carries on', async () => {
    await expectFailsAlone(pool.parse({ ...page, url: 'test:exhaust-memory' }), pool.parse(page), 'parsing ran out of memory (a parse thread has 64 MB of heap)');
  }, SLOW);
});

describe('a thread that cannot start', () => {
  it('fails the waiting parses with a ParsePoolError, not as unreadable documents, and is tried again by the next parse', async () => {
    // 8 MB of heap is too little to load the parsers.
    const pool = poolOf({ threads: 1, maxOldGenerationSizeMb: 8 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await pool.parse(page).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ParsePoolError);
      expect(error).not.toBeInstanceOf(NonRetryableError);
      expect(error).toMatchObject({ message: expect.stringMatching(/^no parse thread could start: .*memory/) });
    }
    await pool.close();
  }, SLOW);
});

describe('close', () => {
  it('fails the parse in flight and the queued ones with a ParsePoolError, then refuses new ones', async () => {
    const pool = poolOf({ threads: 1, testHooks: true });
    await pool.parse(page);
    const unanswered = [pool.parse({ ...page, url: 'test:sleep/60000' }), pool.parse(page)].map((parse) => parse.catch((error: unknown) => error));
    await pool.close();
    const refused = await pool.parse(page).catch((error: unknown) => error);
    for (const error of [...(await Promise.all(unanswered)), refused]) {
      expect(error).toBeInstanceOf(ParsePoolError);
      expect(error).not.toBeInstanceOf(NonRetryableError);
      expect(error).toMatchObject({ message: 'parse pool closed' });
    }
  }, SLOW);

  it('leaves no thread running, and an idle pool does not keep the process alive', async () => {
    // A process of its own: it must end by itself, with one pool idle and unclosed and another
    // closed while a thread was busy. A thread left behind would keep it running past the timeout.
    const script = `(async () => {
      const { loadSeeds } = await import('@nst/shared/seeds');
      const { createParsePool } = await import('./src/parse-pool.ts');
      const { indicators } = await loadSeeds();
      const input = { bytes: Buffer.from('<table><tr><td>地区生产总值</td><td>1,802.35</td></tr></table>'), format: 'stats-table', district: 'baoshan' };
      const idle = createParsePool({ indicators, threads: 1 });
      console.log(JSON.parse((await idle.parse(input)).records).rejects.length);
      const busy = createParsePool({ indicators, threads: 1, testHooks: true });
      await busy.parse(input);
      const inFlight = busy.parse({ ...input, url: 'test:sleep/600000' });
      setTimeout(() => void busy.close(), 200);
      console.log(await inFlight.catch((error) => error.message));
    })();`;
    // `-e` runs the script as CommonJS; its `import()` of TypeScript goes through tsx.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      timeout: 45_000,
    });
    expect(stdout).toBe('1\nparse pool closed\n');
  }, SLOW);
});

describe('the bundled thread', () => {
  it('starts each thread from a copy of its own, removed once loaded; a copy that cannot be written fails the parses retryably, and the next parse tries again', async () => {
    // A process of its own, whose temporary directory (once its modules are loaded) is one of its
    // own that does not exist at first.
    const tmp = join(mkdtempSync(join(tmpdir(), 'nst-pool-test-')), 'tmp');
    const script = `(async () => {
      const { mkdirSync, readdirSync } = await import('node:fs');
      const { loadSeeds } = await import('@nst/shared/seeds');
      const { createParsePool } = await import('./src/parse-pool.ts');
      const tmp = ${JSON.stringify(tmp)};
      process.env.TMPDIR = tmp;
      const input = { bytes: Buffer.from('<table><tr><td>地区生产总值</td><td>1,802.35</td></tr></table>'), format: 'stats-table', district: 'baoshan' };
      const pool = createParsePool({ indicators: (await loadSeeds()).indicators, threads: 1, testHooks: true, maxOldGenerationSizeMb: 64 });
      const seen = [];
      seen.push(await pool.parse(input).then(() => 'parsed', (error) => error.name + ': ' + error.message));
      mkdirSync(tmp);
      seen.push(await pool.parse(input).then((result) => JSON.parse(result.records).rejects.length));
      seen.push(readdirSync(tmp).length);
      seen.push(await pool.parse({ ...input, url: 'test:exhaust-memory' }).then(() => 'parsed', (error) => error.code));
      seen.push(await pool.parse(input).then((result) => JSON.parse(result.records).rejects.length));
      seen.push(readdirSync(tmp).length);
      await pool.close();
      console.log(JSON.stringify(seen));
    })();`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      timeout: 45_000,
    });
    const [refused, first, copiesAfterFirst, greedy, second, copiesAfterReplacement] = JSON.parse(stdout) as [string, number, number, string, number, number];
    expect(refused).toMatch(/^ParsePoolError: no parse thread could start: ENOENT/);
    expect(first).toBe(1);
    expect(copiesAfterFirst).toBe(0);
    expect(greedy).toBe('unreadable_document');
    expect(second).toBe(1);
    expect(copiesAfterReplacement).toBe(0);
    rmSync(join(tmp, '..'), { recursive: true, force: true });
  }, SLOW);
});

describe('threads: 0', () => {
  it('parses inline with the same API', async () => {
    const pool = poolOf({ threads: 0 });
    expect(pool.threads).toBe(0);
    expect(await pool.parse(page)).toStrictEqual(packParse(await parseDocument(page, catalog)));
    await pool.close();
  });
});
