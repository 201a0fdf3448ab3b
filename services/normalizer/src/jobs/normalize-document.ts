/**
 * The `normalize-document` job: one archived document → validated records → stored vintages,
 * then one aggregate job per affected (district, indicator). Reads only the archive.
 *
 * Idempotent: storing is one transaction whose effects depend only on the document and the
 * parser version; a replay finds every figure already there and changes nothing.
 */
import { Job } from 'bullmq';
import type { Pool } from '@nst/shared/db';
import { createStatisticsKeeper, withTransaction, type StatisticsKeeper } from '@nst/shared/db';
import { isConnectionLoss, NonRetryableError } from '@nst/shared/errors';
import { District } from '@nst/shared/domain';
import { deduplicatedNotStarted, parseJobData, type Queues } from '@nst/shared/jobs';
import type { Logger } from '@nst/shared/logger';
import type { ServiceMetrics } from '@nst/shared/ops';
import type { IndicatorCatalog } from '../indicators';
import { parseInline, ParsePoolError, type ParsePool } from '../parse-pool';
import { PARSER_VERSION, RejectReason, unpackRecords, type PackedParse } from '../records';
import { createBatcher, settleEach } from '../batch';
import { loadDocuments, type ArchivedDocument } from '../sql/load-document';
import { KEY_COLUMNS, recordsDigest, replaceRejects, storeDocuments, type StoreContext, type StoreCounts, type StoreItem, type StoreOutcome } from '../sql/store-records';

/**
 * How long an aggregate job waits before it runs, by default. A backfill normalizes dozens of
 * documents a second, each touching the same dozen (district, indicator) keys: without the wait
 * every document would recompute the same targets again; with it, each key is recomputed at most
 * about once per interval. It adds at most this much to the time a lone change takes to reach the
 * snapshots (a key that keeps changing waits longer: {@link AGGREGATE_MAX_DEBOUNCE_MS}). 3 s: in
 * the benchmark's backfill (4,000 pages, 36 keys) a third of the recomputations of 1 s, for
 * figures that are published monthly (docs/performance.md).
 */
export const AGGREGATE_DEBOUNCE_MS = 3_000;

/**
 * The longest an aggregate job waits, by default, while its key keeps changing. A key that changes
 * again within {@link AGGREGATE_DEBOUNCE_MS} of its last job's run is in a burst (a backfill, a
 * reprocess, a crawl's list of pages), and its next job waits twice as long as that one did, up to
 * this: a key changing for half a minute is recomputed about 4 times instead of 10. A key that has
 * been quiet for the base delay starts over at the base. The end of a burst is not delayed by it:
 * once no fetch or normalize job is left, the jobs still waiting run at once (the idle flush).
 * 24 s: eight times the base (docs/performance.md).
 */
export const AGGREGATE_MAX_DEBOUNCE_MS = 24_000;

/**
 * How long this process runs no normalize job before the aggregate jobs it handed over may stop
 * waiting out their delay. The wait only coalesces changes that are still coming: once no fetch
 * and no normalize job is waiting or running anywhere (a backfill's end, the last page of a cron
 * run), it would only delay the snapshots. While a crawl goes on, the fetch queue mostly holds a
 * job waiting or running (one whose host's turn is near sleeps in its worker place), and the
 * debounce holds; a job deferred to a later turn is delayed and not counted, so a look in a long
 * politeness gap runs the jobs early, and the next pages' changes are recomputed after it. (Delayed
 * jobs cannot count: a source's next scheduled run is one.) The queues are asked only after this
 * idle spell, so it need not be long: 100 ms (it was 500 ms, most of a run's tail once the last
 * page was stored).
 */
export const AGGREGATE_FLUSH_IDLE_MS = 100;

export interface NormalizeDeps {
  pool: Pool;
  queues: Queues;
  logger: Logger;
  /** The indicator catalog (loaded from core.indicator at start). */
  catalog: IndicatorCatalog;
  /** Parses off the main thread, with the same catalog; absent: parsed on the calling thread. */
  parsePool?: ParsePool;
  /** Prometheus counters; optional for tests and the CLI. */
  metrics?: Pick<ServiceMetrics, 'observationsWritten' | 'rejects'>;
  /** How long an aggregate job waits for more changes of its key; default {@link AGGREGATE_DEBOUNCE_MS}. */
  aggregateDelayMs?: number;
  /** The longest it waits while its key keeps changing; default {@link AGGREGATE_MAX_DEBOUNCE_MS}, never below `aggregateDelayMs`. */
  aggregateMaxDelayMs?: number;
  /** Idle time after which the aggregate jobs handed over run at once; default {@link AGGREGATE_FLUSH_IDLE_MS}, null: never. */
  aggregateFlushIdleMs?: number | null;
  /** Store transactions at once while documents wait to be stored; default {@link STORE_LANES}. */
  storeLanes?: number;
}

export interface NormalizeResult {
  documentId: number;
  skipped?: 'list_page' | 'unchanged';
  counts?: StoreCounts;
  aggregateJobs: number;
}

export async function handleNormalizeJob(job: Job, deps: NormalizeDeps): Promise<NormalizeResult> {
  // Started before (failed, or stalled when its worker died): an earlier run may have committed
  // and died before handing its changes over, so this one hands over every key there is.
  const { documentId, full } = parseJobData('normalize-document', job.data);
  return normalizeDocument(documentId, deps, { firstRun: job.attemptsStarted <= 1, full: full === true });
}

/** Options for {@link normalizeDocument}. */
export interface NormalizeOptions {
  /**
   * Nothing has stored this document before in this job: only keys whose vintages this run changes
   * get an aggregate job. Default false (every (district, indicator) of the catalog gets one: an
   * earlier run may have removed figures no reading names), for callers that cannot tell, such as
   * a rerun of `nst reprocess --inline` after a crash.
   */
  firstRun?: boolean;
  /** Store every record even when the reading's digest equals the stored one. Default false. */
  full?: boolean;
}

export async function normalizeDocument(documentId: number, deps: NormalizeDeps, options: NormalizeOptions = {}): Promise<NormalizeResult> {
  const batching = batchingOf(deps);
  batching.flush.begin();
  try {
    return await normalizeWith(batching, documentId, deps, options);
  } finally {
    batching.flush.end();
  }
}

async function normalizeWith(batching: Batching, documentId: number, deps: NormalizeDeps, options: NormalizeOptions): Promise<NormalizeResult> {
  const doc = await batching.load(documentId);
  const ctx = { documentId, sourceKey: doc.sourceKey, url: doc.url, parserVersion: PARSER_VERSION };
  if (doc.role === 'list') {
    await deps.pool.query('UPDATE raw.document SET normalized_at = now(), parser_version = $2 WHERE id = $1 AND normalized_at IS NULL', [documentId, PARSER_VERSION]);
    return { documentId, skipped: 'list_page', aggregateJobs: 0 };
  }

  let parsed;
  try {
    parsed = await (deps.parsePool ? deps.parsePool.parse(doc.archived) : parseInline(doc.archived, deps.catalog));
  } catch (error) {
    // The pool could not run the parse (closed, no thread would start): not the document's fault.
    if (error instanceof ParsePoolError) throw error;
    // An unreadable document is recorded as a reject of the whole document, then fails for good.
    const typed = error instanceof NonRetryableError ? error : new NonRetryableError('unreadable_document', (error as Error).message, { cause: error });
    const parsedReason = RejectReason.safeParse(typed.code);
    const reason = parsedReason.success ? parsedReason.data : 'unreadable_document';
    await withTransaction(deps.pool, async (client) => {
      await replaceRejects(client, [{ kind: 'reject', reason, detail: typed.message, locator: 'document' }], ctx);
      // The rows no longer say what a reading gave: the next readable parse stores in full.
      await client.query('UPDATE raw.document SET records_digest = NULL WHERE id = $1 AND records_digest IS NOT NULL', [documentId]);
    });
    deps.metrics?.rejects.inc({ reason });
    throw typed;
  }

  const reading = readingOf(doc, parsed);
  if (reading.recordsDigest === doc.recordsDigest && !options.full) {
    // Exactly what was stored (a reprocess without a parser change): storing would change nothing.
    // A run started before may have stored and died before handing its keys over: hand them now.
    const handed = options.firstRun ? 0 : await batching.handOver(everyKey(deps.catalog));
    deps.logger.debug({ documentId, aggregateJobs: handed }, 'unchanged since last stored');
    return { documentId, skipped: 'unchanged', aggregateJobs: handed };
  }
  const records = unpackRecords(parsed);
  const { rejects } = records;
  const { counts, changedKeys, uncertain } = await batching.store({ records, ctx: reading });

  deps.metrics?.observationsWritten.inc({ change: 'inserted' }, counts.inserted);
  deps.metrics?.observationsWritten.inc({ change: 'revised' }, counts.revised);
  deps.metrics?.observationsWritten.inc({ change: 'removed' }, counts.removed);
  for (const reject of rejects) deps.metrics?.rejects.inc({ reason: reject.reason });

  // One aggregate job per (district, indicator) whose vintages changed: snapshots read nothing
  // else, so a re-normalized document that changed nothing wakes no aggregator.
  const handed = await batching.handOver(
    options.firstRun && !uncertain ? [...changedKeys].map((key) => key.split('|', 2).join('|')) : everyKey(deps.catalog),
  );
  deps.logger.debug({ documentId, ...counts, aggregateJobs: handed }, 'normalized');
  return { documentId, counts, aggregateJobs: handed };
}

/**
 * When a reading of the document takes effect (the publication time the page states, else the
 * archive's, else the fetch time) and its digest: what storing it takes besides its records.
 */
function readingOf(doc: ArchivedDocument, parsed: PackedParse): StoreContext {
  const stated = parsed.publishedAt ? new Date(parsed.publishedAt) : null;
  const publishedAt = stated && !Number.isNaN(stated.getTime()) ? stated : null;
  const validFrom = publishedAt ?? doc.publishedAt ?? doc.fetchedAt;
  const ctx = { documentId: doc.id, sourceKey: doc.sourceKey, url: doc.url, parserVersion: PARSER_VERSION, validFrom, publishedAt };
  return { ...ctx, recordsDigest: recordsDigest(parsed.records, ctx) };
}

/** A reading of the document as it is stored: its records by kind, and {@link readingOf}. */
export const storeItemOf = (doc: ArchivedDocument, parsed: PackedParse): StoreItem => ({ records: unpackRecords(parsed), ctx: readingOf(doc, parsed) });

/**
 * Every `district|indicator` there is: what a run hands over when it cannot tell what an earlier
 * run changed (a retry, or a store after a failed batch, which may have committed). The earlier run
 * may have removed figures the document no longer states, which no reading now names; aggregate
 * jobs are deduplicated per key and write nothing when their inputs did not change.
 */
const everyKey = (catalog: IndicatorCatalog) => District.options.flatMap((district) => catalog.codes.map((code) => `${district}|${code}`));

/**
 * The round trips concurrent jobs share: documents are loaded together, stored together in one
 * transaction, and their aggregate jobs enqueued together. Each job still settles on its own.
 */
interface Batching {
  load(documentId: number): Promise<ArchivedDocument>;
  /**
   * `uncertain`: stored alone after its batch failed, which may have committed all the same (a
   * connection lost at COMMIT): what changed is then unknown, and every key there is is handed over.
   */
  store(item: StoreItem): Promise<StoreOutcome & { uncertain?: true }>;
  /** Enqueue the aggregate jobs of these `district|indicator` keys; returns how many distinct keys. */
  handOver(keys: readonly string[]): Promise<number>;
  flush: AggregateFlush;
}

/** Most documents loaded, or stored, in one round trip, or one transaction. */
const MAX_BATCH = 32;

/**
 * Store transactions one replica runs at once. A second starts only while at least
 * {@link STORE_LANE_BACKLOG} parsed documents wait for the first to end, so a trickle of documents
 * is stored as before, one batch at a time, and a backlog (a backfill, a reprocess) is stored two
 * batches at a time, locked as two replicas lock them (documents, then keys, each in order). In
 * the benchmark's backfill, one chain of transactions left 234–449 documents waiting at most and
 * 1.5–2.6 s of tail after the fetcher's last page; two, 121–190 and about 1 s. Pages/s on two cores
 * stay within the noise (both cores are busy until the tail anyway); with more cores, or
 * PostgreSQL on its own machine, the chain is what limits (docs/performance.md).
 */
export const STORE_LANES = 2;
const STORE_LANE_BACKLOG = 8;

const batchings = new WeakMap<NormalizeDeps, Batching>();

function batchingOf(deps: NormalizeDeps): Batching {
  let batching = batchings.get(deps);
  if (batching) return batching;
  const load = createBatcher<number, ArchivedDocument>((ids) => loadDocuments(deps.pool, ids), { maxBatch: MAX_BATCH * 2 });
  const statistics = createStoreStatisticsKeeper(deps.pool, deps.logger);
  const store = createBatcher<StoreItem, StoreOutcome & { uncertain?: true }>(async (items) => {
    statistics.noteWritten(rowsOf(items));
    try {
      const outcomes = await withTransaction(deps.pool, (client) => storeDocuments(client, items));
      return outcomes.map((value) => ({ ok: true, value }));
    } catch (error) {
      // The database is away: every job waits for it (retried as not-first runs, which hand over every key).
      if (items.length === 1 || isConnectionLoss(error)) throw error;
      // One document that cannot be stored must not fail the others: each alone, in its own transaction.
      return settleEach(items, async (item) => ({ ...(await withTransaction(deps.pool, (client) => storeDocuments(client, [item])))[0]!, uncertain: true as const }));
    }
  }, { maxBatch: MAX_BATCH, key: (item) => item.ctx.documentId, lanes: deps.storeLanes ?? STORE_LANES, laneBacklog: STORE_LANE_BACKLOG });
  const debounce = createDebounce(deps);
  const flush = createAggregateFlush(deps, debounce);
  const handOver = createBatcher<readonly string[], number>(async (lists) => {
    flush.noteHandedOver(await enqueueAggregates(deps, debounce, lists.flat()));
    return lists.map((keys) => ({ ok: true, value: new Set(keys).size }));
  }, { maxBatch: 1_000 });
  batching = { load, store, handOver, flush };
  batchings.set(deps, batching);
  return batching;
}

/**
 * The tables a backfill fills, kept analyzed as the store writes them, or key lookups go astray
 * (see createStatisticsKeeper). The service's, and the bench's store measure's.
 */
export function createStoreStatisticsKeeper(pool: Pool, logger?: Logger): StatisticsKeeper {
  return createStatisticsKeeper(pool, {
    tables: [
      { name: 'core.quiet_publication', columns: [...KEY_COLUMNS, 'document_id', 'published_at'] },
      { name: 'core.observation', columns: [...KEY_COLUMNS, 'document_id', 'valid_from'] },
      { name: 'core.reject', columns: ['document_id'] },
      { name: 'core.target_mention', columns: ['document_id'] },
    ],
    onEvent: ({ table, analyzed, error }) => {
      if (analyzed) logger?.info({ table }, 'analyzed table (planner statistics)');
      else logger?.warn({ table, err: error }, 'could not analyze table');
    },
  });
}

/** The rows storing these documents writes, as the statistics keeper counts them. */
export const rowsOf = (items: readonly StoreItem[]) =>
  items.reduce((rows, { records: r }) => rows + r.observations.length + r.rejects.length + r.targetMentions.length + r.news.length, 0);

/**
 * One aggregate job per distinct `district|indicator`; the aggregator coalesces bursts
 * (deduplication). Keys whose job has not started are left out (deduplicatedNotStarted: one
 * round trip), the others added in one more. During a backfill most keys have a job waiting out
 * its delay: the benchmark's N = 50 run added about five jobs a page, each a script run in Redis
 * and a job built here, nearly all of them deduplicated. Returns the deduplication ids of the jobs that wait.
 */
async function enqueueAggregates(deps: NormalizeDeps, debounce: Debounce, keys: readonly string[]): Promise<string[]> {
  const byId = new Map([...new Set(keys)].map((key) => {
    const [scope, indicator] = key.split('|') as ['baoshan' | 'jinshan' | 'shanghai', string];
    return [`agg_${scope}_${indicator}`, { scope, indicator }] as const;
  }));
  // A key whose job has not started yet needs none: that job runs after this change committed.
  const waiting = await deduplicatedNotStarted(deps.queues.aggregate, [...byId.keys()]);
  const now = Date.now();
  const added = [...byId].filter(([id]) => !waiting.has(id)).map(([id, change]) => ({
    name: 'aggregate-indicator',
    data: parseJobData('aggregate-indicator', change),
    // Debounced: the job waits its delay, and every change of the key meanwhile joins it.
    opts: { delay: debounce.delayOf(id, now), deduplication: { id, keepLastIfActive: true } },
  }));
  if (added.length > 0) {
    await deps.queues.aggregate.addBulk(added);
    // Noted once added: a failed add is retried with the delay it would have had.
    for (const job of added) debounce.noteAdded(job.opts.deduplication.id, now, job.opts.delay);
  }
  return debounce.base > 0 ? [...byId.keys()] : [];
}

/**
 * Each key's delay: the base after a quiet spell, doubled for each job that follows the one before
 * within the base delay of its run, up to the maximum. What this process added: each replica
 * stretches the jobs it adds, and deduplication keeps one job a key whoever adds it (with several
 * replicas, a key's next job may take the base delay from one that had not seen the burst).
 */
interface Debounce {
  readonly base: number;
  delayOf(id: string, now: number): number;
  noteAdded(id: string, at: number, delay: number): void;
  /** The key's job ran early (promoted once nothing was left upstream): its next one starts over. */
  forget(id: string): void;
}

function createDebounce(deps: NormalizeDeps): Debounce {
  const base = deps.aggregateDelayMs ?? AGGREGATE_DEBOUNCE_MS;
  const max = Math.max(base, deps.aggregateMaxDelayMs ?? AGGREGATE_MAX_DEBOUNCE_MS);
  // Per key: when its last job was due to run, and how long it had waited. One entry a key of the catalog.
  const last = new Map<string, { dueAt: number; delay: number }>();
  return {
    base,
    delayOf(id, now) {
      const before = last.get(id);
      if (before === undefined || now >= before.dueAt + base) return base;
      // The key's last job is not due yet, and not waiting (a waiting one takes the change): it runs
      // now, and this add is its successor, as an add a moment ago was. The same delay, not doubled again.
      if (now < before.dueAt) return before.delay;
      return Math.min(max, before.delay * 2);
    },
    noteAdded(id, at, delay) {
      const before = last.get(id);
      // An add before the last one was due (see delayOf) took its delay; the job it made, or
      // replaced, is still that burst's.
      if (before !== undefined && at < before.dueAt) return;
      last.set(id, { dueAt: at + delay, delay });
    },
    forget(id) {
      last.delete(id);
    },
  };
}

/** Counts the normalize jobs running in this process, and flushes the aggregate jobs they delayed once none has run for a while. */
interface AggregateFlush {
  begin(): void;
  end(): void;
  noteHandedOver(deduplicationIds: readonly string[]): void;
}

/** The longest wait between two looks that found documents still coming, in idle times. */
const FLUSH_LOOK_BACKOFF = 16;

/**
 * Once this process has run no normalize job for `aggregateFlushIdleMs`, and no fetch or normalize
 * job waits or runs in any replica, the aggregate jobs it handed over that still wait out their
 * first delay are promoted: they run now. Best effort: a job in a retry's backoff keeps it, and one
 * done or promoted elsewhere is left alone. A job running at that moment holds a successor
 * (deduplication keeps the last change of a running key), created when it ends: its key stays
 * pending, as does one whose job could not be looked at, for the next look.
 *
 * While documents are still coming the keys stay pending too: the last document of a crawl may
 * change other keys than the ones before it, and theirs must not wait out a delay stretched by the
 * burst (a politeness-paced crawl, whose next page is nearly always on its way, looked until then
 * at the keys of the last document alone). The next look comes after the next job's idle spell,
 * or, if no job comes (the last fetch job ended without a document, or a moment after the last
 * document), after twice the wait of the look before (never less than the default idle time), up
 * to {@link FLUSH_LOOK_BACKOFF} times the idle time: a replica idle through a paced crawl, holding
 * keys, looks about every 1.6 s, at two counts a look.
 */
function createAggregateFlush(deps: NormalizeDeps, debounce: Debounce): AggregateFlush {
  const idleMs = deps.aggregateFlushIdleMs === undefined ? AGGREGATE_FLUSH_IDLE_MS : deps.aggregateFlushIdleMs;
  const pending = new Set<string>();
  let running = 0;
  let timer: NodeJS.Timeout | undefined;
  /** A look at the queues is under way; a job ending meanwhile asks for another after it. */
  let looking = false;
  let endedWhileLooking = false;
  /** How long the look after this one waits, while looks find documents still coming and no job ends. */
  const firstLookMs = idleMs ?? 0;
  // Doubled from look to look, never below the default idle time (an idle time of 0 must not poll
  // Redis in a loop), and at most FLUSH_LOOK_BACKOFF idle times.
  const longestLookMs = Math.max(firstLookMs, AGGREGATE_FLUSH_IDLE_MS) * FLUSH_LOOK_BACKOFF;
  let nextLookMs = firstLookMs;
  const backOff = () => (nextLookMs = Math.min(Math.max(nextLookMs * 2, AGGREGATE_FLUSH_IDLE_MS), longestLookMs));
  /** Promote the job of one key; true when it is running now (its successor is still to come). */
  const promote = async (deduplicationId: string): Promise<boolean> => {
    const queue = deps.queues.aggregate;
    const jobId = await queue.getDeduplicationJobId(deduplicationId);
    const job = jobId ? await Job.fromId(queue, jobId) : undefined;
    if (!job) return false;
    // Never started: only its debounce delays it. A job that ran before waits out its backoff.
    if (job.attemptsStarted === 0 && (await job.isDelayed())) {
      await job.promote();
      debounce.forget(deduplicationId);
    }
    return job.attemptsStarted > 0 && (await job.isActive());
  };
  /** Whether documents are still coming: a fetch or normalize job waits or runs (in any replica). */
  const upstreamBusy = async () => {
    const counts = await Promise.all([deps.queues.fetch, deps.queues.normalize].map((queue) => queue.getJobCounts('waiting', 'active', 'prioritized')));
    return counts.some((count) => Object.values(count).some((n) => n > 0));
  };
  const arm = (waitMs = idleMs) => {
    if (running === 0 && pending.size > 0 && waitMs !== null && timer === undefined && !looking) timer = setTimeout(() => void flush(), waitMs).unref();
  };
  const flush = async () => {
    timer = undefined;
    looking = true;
    endedWhileLooking = false;
    // When to look again if no job ends meanwhile (null: not before one does).
    let againMs: number | null = null;
    try {
      // Changes are still coming: the debounce holds, and every key stays pending for the next look.
      if (await upstreamBusy()) {
        againMs = backOff();
        return;
      }
      // The keys handed over so far; a job that starts meanwhile adds its own, for the next idle spell.
      const ids = [...pending];
      pending.clear();
      const settled = await Promise.allSettled(ids.map(promote));
      // Kept for the next look: a key whose job runs now (its successor comes when it ends), and
      // one that could not be looked at (promoted meanwhile by another replica, taken by a worker,
      // or Redis away for a moment).
      settled.forEach((outcome, i) => {
        if (outcome.status === 'rejected' || outcome.value) pending.add(ids[i]!);
      });
      if (pending.size > 0) againMs = backOff();
      const failed = settled.filter((outcome) => outcome.status === 'rejected');
      if (failed.length > 0) deps.logger.debug({ failed: failed.length, err: (failed[0] as PromiseRejectedResult).reason }, 'could not promote some aggregate jobs; looked at again later');
    } catch (error) {
      againMs = backOff();
      deps.logger.debug({ err: error }, 'could not look at the queues; the aggregate jobs wait for the next look or their delay');
    } finally {
      looking = false;
      if (endedWhileLooking) arm();
      else if (againMs !== null) arm(againMs);
    }
  };
  return {
    begin() {
      running += 1;
      clearTimeout(timer);
      timer = undefined;
    },
    end() {
      running -= 1;
      if (looking) endedWhileLooking = true;
      nextLookMs = firstLookMs;
      arm();
    },
    noteHandedOver(deduplicationIds) {
      for (const id of deduplicationIds) pending.add(id);
    },
  };
}
