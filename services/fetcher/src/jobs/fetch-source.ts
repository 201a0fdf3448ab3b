/**
 * The `fetch-source` job: fetch one URL of one source (its entry URL, a further list page or a
 * discovered document), archive the verbatim bytes when the canonical content is new, enqueue
 * one normalize job for a new document, and enqueue the new links of a list page.
 *
 * Idempotent: the archive is keyed by (source, url, canonical hash), job ids are deterministic,
 * and a document archived by an attempt that then died is still handed to the normalizer (its
 * `normalized_at` is empty) by the retry. A copy hashed under an older canonical version is
 * re-hashed before the comparison (see {@link upgradeLatestHash}).
 */
import { createHash } from 'node:crypto';
import type { Job, JobsOptions } from 'bullmq';
import type { Pool } from '@nst/shared/db';
import { errorCode, NonRetryableError, RetryableError } from '@nst/shared/errors';
import { DeferJob, toBullError } from '@nst/shared/worker';
import { enqueue, jobId, parseJobData, type FetchJob, type Queues } from '@nst/shared/jobs';
import type { Logger } from '@nst/shared/logger';
import type { ServiceMetrics } from '@nst/shared/ops';
import type { Source } from '@nst/shared/seeds';
import { decodeBody } from '@nst/shared/charset';
import { CANONICAL_VERSION, canonicalHash, canonicalText, FIRST_COPY_VERSION, firstCopyHash, sha256 } from '../canonical';
import { discoverLinks, documentFormat } from '../discover';
import { httpGet, type HttpGetOptions } from '../http-client';
import type { Lease, PolitenessGate } from '../rate-limit';
import { MAX_CRAWL_DELAY_MS, RobotsDisallowedError, type RobotsCache, type RobotsRules } from '../robots';
import type { Guard } from '../ssrf';
import { archiveDocument, findArchivedUrls, findDocumentText, findSourceAndLatest, upgradeCanonicalHash, type ArchivedDocument } from '../sql/documents';
import { insertFetchLog, type FetchOutcome } from '../sql/fetch-log';
import type { UrlMapOptions } from '../url-map';

export interface FetchDeps {
  pool: Pool;
  queues: Queues;
  guard: Guard;
  robots: RobotsCache;
  politenessGate: PolitenessGate;
  /** Longest a job waits for its host's turn in its worker place (FETCH_MAX_POLITE_WAIT_MS; never more than the host's delay); further away, it is deferred. */
  maxPoliteWaitMs: number;
  urlMap: UrlMapOptions;
  logger: Logger;
  userAgent: string;
  connectTimeoutMs: number;
  maxRedirects: number;
  /** `off` skips the per-host delay and the limit per source (the offline publisher and benchmarks are ours); default `registry`. */
  politeness?: 'registry' | 'off';
  /** Prometheus counters (fetch outcomes, documents archived); optional for tests and the CLI. */
  metrics?: Pick<ServiceMetrics, 'fetchOutcomes' | 'documentsArchived'>;
  /** Options given to every fetch job this handler enqueues (attempts, backoff). */
  fetchJobOptions: { attempts: number; backoff: { type: string; delay: number } };
}

export interface FetchJobResult {
  outcome: FetchOutcome;
  documentId?: number;
  discovered?: number;
}

const REFUSAL_CODES = new Set(['ssrf_scheme', 'ssrf_host_not_allowed', 'ssrf_private_address', 'ssrf_bad_url', 'robots_disallowed']);

const urlKey = (url: string) => createHash('sha1').update(url).digest('hex').slice(0, 20);

function isHtml(contentType: string | null, body: Buffer): boolean {
  // text/html, application/xhtml+xml, text/xml — but not the spreadsheet types that merely contain "xml".
  if (contentType) return /html|[/+]xml(?:$|[;\s])/i.test(contentType);
  return /^\s*</.test(body.subarray(0, 64).toString('latin1'));
}

export async function handleFetchJob(job: Job, deps: FetchDeps): Promise<FetchJobResult> {
  const payload = parseJobData('fetch-source', job.data);
  const started = performance.now();
  const attempt = job.attemptsMade + 1;
  const url = payload.url ?? '';
  let source: Source | undefined;
  try {
    // A list page's latest copy is read with its text (discovery on a 304); a job for the
    // source's entry URL does not know its role yet, and reads it too.
    const withText = payload.role === 'list' || (payload.role === undefined && payload.url === undefined);
    const found = await findSourceAndLatest(deps.pool, payload.sourceKey, payload.url ?? null, { withText });
    if (!found) throw new NonRetryableError('unknown_source', `source "${payload.sourceKey}" is not in the registry`);
    source = found.source;
    const result = await fetchOne(job, payload, source, found.latest, deps, started);
    return result;
  } catch (error) {
    // Not an attempt: the job waits for its host's turn in the queue (see takeTurn).
    if (error instanceof DeferJob) throw error;
    const retryable = error instanceof RetryableError || !(error instanceof NonRetryableError);
    const maxAttempts = job.opts.attempts ?? 1;
    const code = errorCode(error);
    const outcome: FetchOutcome = REFUSAL_CODES.has(code) ? 'refused' : retryable && attempt < maxAttempts ? 'retry' : 'failed';
    deps.metrics?.fetchOutcomes.inc({ outcome, status: /^http_\d{3}$/.test(code) ? code.slice(5) : code });
    await insertFetchLog(deps.pool, {
      sourceKey: payload.sourceKey,
      url: url || source?.url || '',
      jobId: job.id,
      attempt,
      outcome,
      httpStatus: /^http_(\d{3})$/.exec(code)?.[1] ? Number(code.slice(5)) : null,
      errorCode: code,
      errorMessage: error instanceof Error ? error.message : String(error),
      durationMs: performance.now() - started,
    });
    throw toBullError(error);
  }
}

async function fetchOne(job: Job, payload: FetchJob, source: Source, latest: ArchivedDocument | undefined, deps: FetchDeps, started: number): Promise<FetchJobResult> {
  const url = payload.url ?? source.url;
  const role = payload.role ?? (payload.url ? 'document' : source.discovery.links ? 'list' : 'document');
  const count = (outcome: FetchOutcome, httpStatus?: number) => {
    deps.metrics?.fetchOutcomes.inc({ outcome, status: String(httpStatus ?? '') });
    if (outcome === 'archived') deps.metrics?.documentsArchived.inc({ source: source.key });
  };
  const log = (outcome: FetchOutcome, extra: { httpStatus?: number; documentId?: number; errorCode?: string; errorMessage?: string } = {}) => {
    count(outcome, extra.httpStatus);
    return insertFetchLog(deps.pool, { sourceKey: source.key, url, jobId: job.id, attempt: job.attemptsMade + 1, outcome, durationMs: performance.now() - started, ...extra });
  };

  if (!source.enabled) {
    await log('skipped', { errorCode: 'source_disabled' });
    return { outcome: 'skipped' };
  }
  if (role === 'document' && payload.url && latest && !payload.force) {
    // A discovered document is archived once; only `--force` fetches it again. If the attempt that
    // archived it died before handing it over, hand it over now (same job id: at most once).
    if (latest.normalizedAt === null) await enqueueNormalize(deps, latest.id);
    await log('skipped', { documentId: latest.id, errorCode: 'already_archived' });
    return { outcome: 'skipped', documentId: latest.id };
  }

  const http: Omit<HttpGetOptions, 'etag' | 'lastModified'> = {
    guard: deps.guard,
    urlMap: deps.urlMap,
    userAgent: deps.userAgent,
    connectTimeoutMs: deps.connectTimeoutMs,
    totalTimeoutMs: source.politeness.timeoutMs,
    maxBytes: source.politeness.maxBytes,
    maxRedirects: deps.maxRedirects,
  };
  deps.guard.checkRealUrl(url);
  const robots = await robotsRules(job, payload, source, url, http, deps);
  const polite = withCrawlDelay(source, robots.rules);
  // A turn taken for a robots.txt that another job fetched meanwhile serves the page, if the page
  // is allowed and its delay is the one the turn was taken with.
  let lease = robots.spare;
  if (lease && (polite.politeness.minDelayMs !== robots.turnDelayMs || !robots.rules.allows(url))) {
    await releaseLease(lease, false, source, url, deps);
    lease = undefined;
  }
  if (!robots.rules.allows(url)) throw new RobotsDisallowedError(url);
  // A turn spent on robots.txt is spent: the page takes the next, and this attempt spends no other
  // on robots.txt (see robotsRules).
  lease ??= robots.turnTaken
    ? await takeTurn(job, { ...payload, turnAt: undefined, turnAttempt: undefined }, polite, url, deps, { robotsAttempt: job.attemptsMade })
    : await takeTurn(job, payload, polite, url, deps);
  let response;
  try {
    response = await httpGet(url, {
      ...http,
      etag: payload.force ? null : latest?.etag,
      lastModified: payload.force ? null : latest?.lastModified,
    });
  } finally {
    // The response (or its error) is what counts: a lease left behind expires by itself.
    await releaseLease(lease, response !== undefined, source, url, deps);
  }

  if (response.status === 304) {
    await log('not_modified', { httpStatus: 304, documentId: latest?.id });
    const discovered = role === 'list' && latest?.text ? await enqueueLinks(latest.text, url, payload, source, deps) : 0;
    return { outcome: 'not_modified', documentId: latest?.id, discovered };
  }

  const contentType = response.headers['content-type'] ?? null;
  const html = isHtml(contentType, response.body);
  const decoded = html ? decodeBody(response.body, contentType ?? undefined) : undefined;
  if (latest && latest.canonicalVersion < CANONICAL_VERSION) await upgradeLatestHash(deps.pool, latest);
  const archived = await archiveDocument(deps.pool, {
    sourceKey: source.key,
    url,
    finalUrl: response.finalUrl,
    httpStatus: response.status,
    headers: response.headers,
    contentType,
    charset: decoded?.charset ?? null,
    body: response.body,
    text: decoded?.text ?? null,
    sha256Bytes: sha256(response.body),
    // The URL's first copy, if HTML: hashed canonically when the URL is fetched again (FIRST_COPY_VERSION).
    ...(latest === undefined && decoded !== undefined
      ? { sha256Canonical: firstCopyHash(url), canonicalVersion: FIRST_COPY_VERSION }
      : { sha256Canonical: canonicalHash(response.body, decoded?.text, html), canonicalVersion: CANONICAL_VERSION }),
    etag: response.headers.etag ?? null,
    lastModified: response.headers['last-modified'] ?? null,
    publishedAt: null,
    role,
    format: role === 'list' ? source.format : documentFormat(url, source),
  }, { sourceKey: source.key, url, jobId: job.id, attempt: job.attemptsMade + 1, httpStatus: response.status, durationMs: performance.now() - started });
  // A new copy is logged by the statement that archives it.
  const outcome: FetchOutcome = archived.inserted ? 'archived' : 'unchanged';
  if (archived.inserted) count(outcome, response.status);
  else await log(outcome, { httpStatus: response.status, documentId: archived.id });

  if (role === 'document' && archived.normalizedAt === null) await enqueueNormalize(deps, archived.id);
  const discovered = role === 'list' && decoded ? await enqueueLinks(decoded.text, response.finalUrl, payload, source, deps) : 0;
  return { outcome, documentId: archived.id, discovered };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A handler of a politeness step's failure that logs it as a warning: the step is not the job's outcome. */
const warnOnFailure = (deps: Pick<FetchDeps, 'logger'>, source: Source, url: string, what: string) => (error: unknown) => {
  deps.logger.warn({ source: source.key, url, err: { message: (error as Error).message } }, what);
};

/** Give a request's place back; a failure is logged, never put in the place of the response. */
async function releaseLease(lease: Lease | undefined, responded: boolean, source: Source, url: string, deps: Pick<FetchDeps, 'logger'>): Promise<void> {
  await lease?.release(responded).catch(warnOnFailure(deps, source, url, 'could not release the request\'s place'));
}

/**
 * The robots.txt rules of `url`'s origin: cached, or fetched in a turn of the host's, as any request
 * to it (with politeness on; see takeTurn), spaced by the crawl delay it last stated. `turnTaken`:
 * this job took a turn for it (and it may have gone back to the queue to wait for it), with a delay
 * of `turnDelayMs`. `spare`: that turn's place, unused, when another job's request had fetched the
 * rules by the time the turn came.
 *
 * An attempt spends at most one turn on robots.txt (`robotsAttempt`): once it has, it uses rules
 * past their cache period (up to a day old). Each turn spent on robots.txt sends the page to the
 * back of the host's turns; with a cache period shorter than the wait, a job that refreshed the
 * rules at every turn would never reach its page. In a backlog, so, the first job back after the
 * rules' period refreshes them, once.
 */
async function robotsRules(
  job: Pick<Job, 'data' | 'attemptsMade'>,
  payload: FetchJob,
  source: Source,
  url: string,
  http: Omit<HttpGetOptions, 'etag' | 'lastModified'>,
  deps: FetchDeps,
): Promise<{ rules: RobotsRules; turnTaken: boolean; turnDelayMs?: number; spare?: Lease }> {
  const cached = deps.robots.rules(url, { stale: payload.robotsAttempt === job.attemptsMade });
  if (cached) return { rules: cached, turnTaken: false };
  const stale = deps.robots.rules(url, { stale: true });
  const spaced = stale ? withCrawlDelay(source, stale) : source;
  const lease = await takeTurn(job, payload, spaced, url, deps);
  const turnDelayMs = spaced.politeness.minDelayMs;
  const meanwhile = deps.robots.rules(url);
  if (meanwhile) return { rules: meanwhile, turnTaken: true, turnDelayMs, ...(lease ? { spare: lease } : {}) };
  // Asked for in no turn (the source has no delay of its own), and the host asks for one: the
  // request counts as the host's last, so that the page's turn comes a crawl delay after it. Noted
  // before the rules are cached: a job that finds them there reserves its turn after the note.
  const noteIfUnspaced = async (fetched: RobotsRules) => {
    const delayMs = withCrawlDelay(source, fetched).politeness.minDelayMs;
    if (lease !== undefined || deps.politeness === 'off' || delayMs <= 0) return;
    await deps.politenessGate.noteRequest(new URL(url).host, delayMs).catch(warnOnFailure(deps, source, url, 'could not note robots.txt as the host\'s last request'));
  };
  let rules: RobotsRules | undefined;
  try {
    rules = await deps.robots.load(url, http, noteIfUnspaced);
  } finally {
    await releaseLease(lease, rules !== undefined, source, url, deps);
  }
  if (rules.crawlDelayMs !== undefined) {
    deps.logger.info({ source: source.key, origin: new URL(url).origin, crawlDelayMs: rules.crawlDelayMs, atMostMs: MAX_CRAWL_DELAY_MS }, 'robots.txt asks for a crawl delay');
  }
  return { rules, turnTaken: true, turnDelayMs };
}

/**
 * The source as its requests to this host are spaced: robots.txt's `Crawl-delay` for us, when it is
 * longer than the registry's `minDelayMs`, replaces it (a registry's `minDelayMs: 0`, politeness
 * off for the source, included: the host asked). The source itself when it changes nothing.
 */
export function withCrawlDelay(source: Source, rules: RobotsRules): Source {
  const crawlDelayMs = rules.crawlDelayMs;
  if (crawlDelayMs === undefined || crawlDelayMs <= source.politeness.minDelayMs) return source;
  return { ...source, politeness: { ...source.politeness, minDelayMs: crawlDelayMs } };
}

/** What a lease adds to the request's own timeout before it expires by itself. */
const LEASE_MARGIN_MS = 5_000;

/**
 * Wait for the host's turn and a free place among the source's requests in flight (the source's
 * `politeness`: `minDelayMs` from the end of one request to a host to the start of the next, at
 * most `concurrency` requests of the source at once; see rate-limit.ts), and take them. Returns
 * the place, to release once the response is read; undefined when politeness is off
 * (`minDelayMs` 0, or the whole fetcher's).
 *
 * A job waits in its worker place only for the host's next turn: at most one delay, and at most
 * `maxPoliteWaitMs`, in all. For anything longer it goes back to the queue, delayed until shortly
 * before its turn ({@link DeferJob}: no attempt spent), keeping the turn (`turnAt`, for this
 * attempt only), so that the place runs other hosts' jobs meanwhile: with a place asleep for every
 * waiting job, a backfill of one host held every place and the other hosts waited for it. A job
 * that finds the host or its source still busy at its turn takes a new turn.
 */
export async function takeTurn(
  job: Pick<Job, 'data' | 'attemptsMade'>,
  payload: FetchJob,
  source: Source,
  url: string,
  deps: Pick<FetchDeps, 'politeness' | 'politenessGate' | 'maxPoliteWaitMs' | 'logger'>,
  /** Kept in the job's data if it goes back to the queue. */
  keep: Partial<FetchJob> = {},
): Promise<Lease | undefined> {
  const { minDelayMs, concurrency, timeoutMs } = source.politeness;
  if (deps.politeness === 'off' || minDelayMs <= 0) return undefined;
  const host = new URL(url).host;
  const inPlaceMs = Math.min(deps.maxPoliteWaitMs, minDelayMs);
  const { turnAt: _turnAt, turnAttempt: _turnAttempt, ...data } = job.data as FetchJob;
  const defer = (waitMs: number, turnAt: number) => {
    // Back shortly before it may start (half of what a place may wait), so that the queue's own
    // latency does not make it late; the start waits for the rest.
    deps.logger.debug({ source: source.key, url, waitMs }, 'waiting for the host\'s turn in the queue');
    return new DeferJob(Date.now() + Math.max(waitMs - inPlaceMs / 2, 1), { ...data, ...keep, turnAt, turnAttempt: job.attemptsMade }, 'politeness');
  };
  let waited = 0;
  const reserve = async () => {
    const turn = await deps.politenessGate.reserve(host, minDelayMs, source.key, concurrency);
    if (waited + turn.waitMs > inPlaceMs) throw defer(turn.waitMs, turn.slotAt);
    return turn.slotAt;
  };
  // A turn this attempt reserved before it went back to the queue; a retry after a failure queues anew.
  let turnAt = payload.turnAt !== undefined && payload.turnAttempt === job.attemptsMade ? payload.turnAt : await reserve();
  // Near the turn, the host may not be ready yet (its last request ended less than a delay ago: it
  // took longer than usual, or came to its turn late), or the source's places may all be taken; or
  // the job came back far too early (promoted by hand): it waits in place only what it may.
  const pollMs = Math.max(50, Math.min(250, minDelayMs));
  for (;;) {
    const start = await deps.politenessGate.start({ host, minDelayMs, source: source.key, concurrency, leaseMs: timeoutMs + LEASE_MARGIN_MS, turnAt, earlyMs: inPlaceMs });
    if (start.started) return start.lease;
    // A busy source says when its oldest lease would expire, not when its request ends: ask again
    // soon, within what is left of the wait in place.
    const waitMs = start.busy === 'source' ? Math.min(start.waitMs, pollMs, Math.max(1, inPlaceMs - waited)) : start.waitMs;
    if (waited + waitMs <= inPlaceMs) {
      await sleep(waitMs);
      waited += waitMs;
      continue;
    }
    // Too early: back at the turn. A host ready within a wait in place after the turn (the
    // requests before ran a little long): back then, keeping the turn. Otherwise the turn is spent:
    // a new one, behind those given out meanwhile, spaced as the host's responses now go, rather
    // than every late job coming back at once when the host is ready.
    if (start.busy === 'turn') throw defer(waitMs, turnAt);
    if (start.busy === 'host' && start.readyAt !== undefined && start.readyAt <= turnAt + inPlaceMs) throw defer(waitMs, turnAt);
    turnAt = await reserve();
  }
}

/**
 * Re-hash the URL's latest copy under the current canonical version, from its stored text, so that
 * archiveDocument compares like with like: an unchanged page meets that copy (`unchanged`: no new
 * row, no normalize job) instead of being archived once more after every change of the canonical
 * form, or after its first fetch (a first copy holds a placeholder, FIRST_COPY_VERSION). Done before
 * the insert, whatever the new page is: the new hash is true of that copy either way, and the next
 * fetch compares directly.
 *
 * Safe to replay and to race: a copy already upgraded (by a duplicate job, or by this job's earlier
 * attempt) is left alone, and when another copy of the URL already holds the hash the copy stays
 * as it is and the page is compared against that other copy (see upgradeCanonicalHash). Only the
 * latest copy is re-hashed: a page returning to an older, never re-hashed content is archived again.
 */
async function upgradeLatestHash(pool: Pool, latest: ArchivedDocument): Promise<void> {
  // A document's text is not read with it (findSourceAndLatest); a list page's is.
  const text = latest.text ?? (await findDocumentText(pool, latest.id));
  // No text: archived as bytes, whose hash (canonicalHash) does not depend on the version.
  const sha256Canonical = text === null ? null : sha256(canonicalText(text));
  await upgradeCanonicalHash(pool, { id: latest.id, sha256Canonical, canonicalVersion: CANONICAL_VERSION });
}

/** Hand a document to the normalizer. Deterministic id: retried or duplicated fetches hand it over once. */
async function enqueueNormalize(deps: FetchDeps, documentId: number): Promise<void> {
  await enqueue(deps.queues, 'normalize-document', { documentId, reason: 'archived' }, { jobId: jobId('doc', documentId) });
}

/** Enqueue each new document link once, and further list pages within the source's bounds. */
async function enqueueLinks(html: string, pageUrl: string, payload: FetchJob, source: Source, deps: FetchDeps): Promise<number> {
  const links = discoverLinks(html, pageUrl, source);
  const depth = payload.depth ?? 0;
  const archived = await findArchivedUrls(deps.pool, source.key, links.documents);
  const jobs: Array<{ payload: FetchJob; opts: JobsOptions }> = [];
  for (const url of links.documents) {
    const known = archived.get(url);
    if (known && !payload.force) {
      // Archived but never normalized (its normalize job was lost with Redis data): hand it over again.
      if (known.normalizedAt === null) await enqueueNormalize(deps, known.id);
      continue;
    }
    jobs.push({
      payload: { sourceKey: source.key, url, role: 'document', depth: depth + 1, reason: 'discovered', force: payload.force },
      // A forced run re-fetches: its jobs must not collide with the (retained) unforced ones.
      opts: { ...deps.fetchJobOptions, jobId: jobId('url', source.key, urlKey(url), payload.force ? `force-${payload.tick ?? Date.now()}` : 'once') },
    });
  }
  const enqueued = jobs.length;
  if (depth + 1 <= source.discovery.maxDepth) {
    // List pages change with every new item, so they are fetched again on every tick.
    for (const url of links.pages.slice(0, source.discovery.maxPages - 1)) {
      jobs.push({
        payload: { sourceKey: source.key, url, role: 'list', depth: depth + 1, reason: 'discovered', tick: payload.tick, force: payload.force },
        opts: { ...deps.fetchJobOptions, jobId: jobId('page', source.key, urlKey(url), payload.tick ?? String(Date.now())) },
      });
    }
  }
  // One round trip for the whole page (ids already taken are skipped by BullMQ, as with add).
  if (jobs.length > 0) {
    await deps.queues.fetch.addBulk(jobs.map((job) => ({ name: 'fetch-source', data: parseJobData('fetch-source', job.payload), opts: job.opts })));
  }
  deps.logger.debug({ source: source.key, page: pageUrl, documents: links.documents.length, enqueued }, 'discovered links');
  return enqueued;
}
