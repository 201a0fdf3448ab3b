/**
 * Store one document's records in one transaction: its publications (every figure it states),
 * the vintages derived from all publications of the keys it touches, news items, target mentions
 * and rejects. A publication is stored once: as the vintage it opens, or in core.quiet_publication
 * when it opens none. The result depends only on the set of documents normalized, never on their order:
 * storing the same records again changes nothing, a changed figure opens a vintage (which closes
 * the one before it: a vintage ends where the next of its key starts, core.observation_vintage),
 * and records a document no longer yields (after a parser fix) disappear with the vintages they
 * opened.
 */
import { createHash } from 'node:crypto';
import { emptyList, mapped } from '@nst/shared/arrays';
import { arrayParam, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from '@nst/shared/db';
import { periodRange } from '@nst/shared/domain';
import type { DocumentRecords, ObservationRecord, RejectRecord, TargetMentionRecord } from '../records';
import { deriveVintages, type Publication } from '../vintages';

export interface StoreContext {
  documentId: number;
  sourceKey: string;
  url: string;
  /** Start of validity of this document's figures: its publication time, else its fetch time. */
  validFrom: Date;
  parserVersion: string;
  /** The publication time the page states, recorded on the document (absent: left as it is). */
  publishedAt?: Date | null;
  /** Digest of what is stored (see recordsDigest), recorded on the document with the rows. */
  recordsDigest?: string | null;
}

export interface StoreCounts {
  inserted: number;
  revised: number;
  unchanged: number;
  removed: number;
  news: number;
  targetMentions: number;
  rejects: number;
}

type KeyFields = Pick<ObservationRecord, 'district' | 'indicator' | 'measure' | 'accumulation' | 'period'>;
const keyOf = (r: KeyFields) => `${r.district}|${r.indicator}|${r.measure}|${r.accumulation}|${r.period}`;
const splitKey = (key: string) => {
  const [district, indicator, measure, accumulation, period] = key.split('|') as [string, string, string, string, string];
  return { district, indicator, measure, accumulation, period };
};

/**
 * A publication of a key as its vintages are derived: stored (a vintage in core.observation, or a
 * quiet publication, one that opens no vintage, in core.quiet_publication), or read now from a
 * document of the batch (which replaces whatever that document stored for the key). Every one is
 * made with the same fields in the same order, the absent ones undefined, as is every StoredRow:
 * one shape each for V8's compiled code to meet (planVintages was compiled 9 times a pipeline run
 * with two of each, 6 with one, BENCH_NODE_ARGS=--trace-opt).
 */
interface PublicationRow extends Publication {
  key: string;
  /** Where it is stored ('o': a vintage, 'q': quiet), for a publication of a document not in the batch. */
  stored: StoredRow | undefined;
  /** The reading of a document of the batch, with its stored row of the key (if any) and whether that row says the same. */
  reading: Reading | undefined;
}

interface Reading {
  r: ObservationRecord;
  ctx: StoreContext;
  before: StoredRow | undefined;
  same: boolean;
}

/** Where a publication is stored, and when ('o': the start of the vintage it opens). Times are epoch milliseconds. */
interface StoredRow {
  table: 'o' | 'q';
  id: number;
  value: string;
  validFrom: number;
  documentId: number;
  /** For a publication of a batch document: what it says besides its value and time (compared with the new reading before writing it). */
  own: OwnFields | undefined;
}

interface OwnFields {
  status: string;
  url: string;
  raw_value: string;
  unit: string;
  unit_mult: number;
  basis: string;
  locator: string;
  parser_version: string;
}

/**
 * Whether the stored publication already says what this reading says. Decimals are compared as
 * printed: `1725.0` against a stored `1725.00` counts as a change (and is written); times to the
 * millisecond, the precision of the reading's.
 */
function samePublication(row: StoredRow | undefined, r: ObservationRecord, ctx: StoreContext): boolean {
  const own = row?.own;
  return row !== undefined && own !== undefined && row.value === r.value && own.raw_value === r.rawValue && own.unit === r.unit && own.unit_mult === r.unitMult &&
    own.status === r.status && own.basis === r.basis && row.validFrom === ctx.validFrom.getTime() && own.url === ctx.url &&
    own.locator === r.locator && own.parser_version === ctx.parserVersion;
}

/** What a publication states besides its key, its document and its time: a vintage copies them, and a reading is written as them. */
const FIELDS = ['value', 'raw_value', 'unit', 'unit_mult', 'status', 'basis', 'url', 'locator', 'parser_version'] as const;
/** SQL types of {@link FIELDS}, for the arrays they travel in. */
const FIELD_TYPES = ['numeric', 'text', 'text', 'smallint', 'text', 'text', 'text', 'text', 'text'];
/** The values of {@link FIELDS} of a reading. */
const fieldsOf = (r: ObservationRecord, ctx: StoreContext) => [r.value, r.rawValue, r.unit, r.unitMult, r.status, r.basis, ctx.url, r.locator, ctx.parserVersion];

/**
 * A timestamp as whole epoch milliseconds, the precision of the JavaScript dates it is compared
 * with (floored, as `postgres-date` truncates, and as a vintage's `valid_from` is stored).
 */
const EPOCH_MS = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

/** For a row of a batch document (`$6`), what a reading is compared with besides value, status, URL and time, as a JSON array; NULL for the others. */
const OWN = (table: string) => `CASE WHEN ${table}.document_id = ANY($6::bigint[])
  THEN json_build_array(${['raw_value', 'unit', 'unit_mult', 'basis', 'locator', 'parser_version'].map((c) => `${table}.${c}`).join(', ')})::text END`;

/**
 * A row of the combined read: a quiet publication ('q') or a vintage ('o') of a key, or a
 * document's flags ('f', its id in `id`). Times are floored epoch milliseconds ({@link EPOCH_MS}):
 * an instant finer than a millisecond, which a store never writes but a bulk load may, compares as
 * the millisecond it falls in.
 */
interface StateRow {
  kind: 'q' | 'o' | 'f';
  id: number;
  /** Place of the key in the keys read, from 1. */
  key_index: number;
  value: string;
  /** Its status and URL (its order among publications of the same instant). */
  status: string;
  url: string;
  /** published_at of a quiet publication, valid_from of a vintage. */
  t1: number;
  document_id: number;
  /** {@link OWN}: set for the rows of the batch's documents. */
  own: string | null;
  has_mentions: boolean | null;
  has_rejects: boolean | null;
}

/** Whether the document already has rows of its own in these tables (null: not looked up). */
interface ExistingRows {
  mentions: boolean | null;
  rejects: boolean | null;
}

/** Multi-row INSERT helper: `($1, $2, …), (…)` for `rows` of equal length. */
function valuesList(rows: ReadonlyArray<readonly unknown[]>, offset = 0): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = emptyList<string>();
  for (const row of rows) {
    const placeholders = emptyList<string>();
    for (const value of row) {
      params.push(value);
      placeholders.push(`$${params.length + offset}`);
    }
    tuples.push(`(${placeholders.join(', ')})`);
  }
  return { sql: tuples.join(', '), params };
}

/** The key columns of `keys` as parallel arrays, for `unnest` joins. */
function keyArrays(keys: readonly string[]): string[][] {
  const columns: string[][] = [[], [], [], [], []];
  for (const key of keys) key.split('|').forEach((part, i) => columns[i]!.push(part));
  return columns;
}

/** The key columns of readings, as parallel arrays, in key order (read off the records: no key text to split). */
const keyColumnsOf = (records: readonly ObservationRecord[]): string[][] =>
  [records.map((r) => r.district), records.map((r) => r.indicator), records.map((r) => r.measure), records.map((r) => r.accumulation), records.map((r) => r.period)];

/**
 * The rows of `table` (as `alias`) with one of the keys `$1`–`$5`, each with its key's place `k.i`,
 * looked up key by key in the table's key index. The subquery is a fence (`OFFSET 0`): joined
 * plainly, the planner hashed the whole table whenever it guessed that cheaper. With random_page_cost
 * at its default it did so below about 25,000 vintages, and in a benchmark run it took 15–20 ms a
 * batch against 1–4 ms for the lookups (a fifth of the batches of an N = 200 run).
 */
const byKey = (table: string, alias: string) => `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(district, indicator, measure, accumulation, period, i)
  CROSS JOIN LATERAL (SELECT * FROM ${table} ${alias} WHERE (${alias}.indicator, ${alias}.district, ${alias}.period, ${alias}.measure, ${alias}.accumulation)
    = (k.indicator, k.district, k.period, k.measure, k.accumulation) OFFSET 0) ${alias}`;

/** The columns of a figure's key, in key order. */
export const KEY_COLUMNS = ['district', 'indicator', 'measure', 'accumulation', 'period'];

/**
 * Transaction-level advisory locks on the texts of `$1`, taken in their order (the aggregate reads
 * the sorted rows one by one). One row comes back, the number of locks, not one empty row per lock
 * (about 130,000 a backfill of the benchmark's site, each sent, parsed and dropped).
 */
const LOCK_IN_ORDER = 'SELECT count(pg_advisory_xact_lock(h))::int AS locked FROM (SELECT hashtextextended(k, 7270) AS h FROM unnest($1::text[]) AS k ORDER BY k) locks';

/**
 * The first statement of every store transaction. Every statement of a store finds its rows by
 * key, id or document in an index, a few hundred at most, and is prepared (`name`): parsed once
 * per connection and run on one generic plan, instead of being parsed and planned for every batch
 * (the state read took 0.4–0.9 ms to plan, more than many of the statements take to run). The
 * tables grow from nothing under the store, and a generic plan made while one was nearly empty
 * scanned it whole, for every key, for as long as the connection lived; with sequential scans off
 * in the store's transactions, a plan made while the tables are empty or large looks its rows up
 * in the index. LOCAL: both end with the transaction.
 */
export const INDEX_LOOKUPS = 'SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan';

/** One document to store: its records and where they come from. */
export interface StoreItem {
  records: DocumentRecords;
  ctx: StoreContext;
}

/** `$n::type[], …`: one array parameter per type, numbered from `first`. */
const arrayParams = (types: readonly string[], first: number) => types.map((type, i) => `$${first + i}::${type}[]`).join(', ');

/** Columns of `rows`, each a parallel array (what unnest takes back apart). */
function columnsOf(rows: ReadonlyArray<readonly unknown[]>, width: number): unknown[][] {
  const columns: unknown[][] = Array.from({ length: width }, () => []);
  for (const row of rows) row.forEach((value, i) => columns[i]!.push(value));
  return columns;
}

/**
 * Array parameters as {@link arrayParam} literals: a batch sends thousands of elements, which pg
 * would encode one by one. Times go as ISO text (timestamptz), since pg renders a Date in local time.
 */
const arrays = (...columns: ReadonlyArray<readonly unknown[]>) => columns.map(arrayParam);
/**
 * A time as ISO text, for years 1–9999: outside them `toISOString` writes `0000-…` or `+010000-…`,
 * which PostgreSQL refuses. Such a time (a page may state one) stays a Date, and its array goes to
 * pg as before, which writes it as PostgreSQL reads it (`… BC`, `10000-…`).
 */
function isoOf(date: Date | null): string | Date | null {
  if (date === null) return null;
  // A batch writes a handful of distinct times (its documents' and their successors'), each
  // hundreds of times: their texts are remembered.
  const time = date.getTime();
  const known = isoTexts.get(time);
  if (known !== undefined) return known;
  const year = date.getUTCFullYear();
  if (!(year >= 1 && year <= 9999)) return date;
  const text = date.toISOString();
  if (isoTexts.size >= 10_000) isoTexts.clear();
  isoTexts.set(time, text);
  return text;
}

const isoTexts = new Map<number, string>();

/** Fail the transaction unless a statement touched exactly the rows it was given (a join drops a row silently). */
function expectRows(rowCount: number | null, expected: number, what: string): void {
  if (rowCount !== expected) throw new Error(`storeDocuments: ${expected} ${what}, ${rowCount ?? 0} done`);
}

/**
 * Record the documents' publications and re-derive the vintages of every key they touch (now or
 * before) from all publications of that key. A publication is stored once: as the vintage it opens
 * (core.observation), or, when it opens none, in core.quiet_publication; a publication whose part
 * changes moves from one table to the other. Only rows that differ are touched, with one statement
 * of each kind for the whole batch.
 */
async function storeObservations(client: PoolClient, writes: Writes, items: readonly StoreItem[], outcomes: MutableOutcome[], existingRows: ExistingRows[],
  publishedKeys: Array<Set<string>>): Promise<void> {
  // In parts, each a function of its own: V8 compiles a function again whenever its inputs take a
  // shape not seen before (a batch's first stored rows, another kind of array), and this one in one
  // piece took 0.2–0.5 s to compile, eleven times in a pipeline run (BENCH_NODE_ARGS=--trace-opt).
  // One figure per key per document: a page that prints a figure twice keeps the first reading.
  const uniques = mapped(items, uniqueReadings);
  const touched = await lockTouchedKeys(client, items, uniques, publishedKeys);
  if (!touched) return;
  const state = await readPublications(client, items, uniques, touched, existingRows);
  const plan = planVintages(touched, state, outcomes);
  // The writes go out one after another without waiting in between (Writes).
  deleteRows(writes, plan);
  updateVintages(writes, plan.updates);
  insertVintages(writes, plan);
  writeQuietPublications(writes, plan);
}

/**
 * A document's readings by key, the first of a key kept. A function of the module, not a closure
 * made for each batch: such a closure, once hot enough for TurboFan, was compiled again for each
 * new batch, its compiled code dropped with it (`--trace-opt`: readPublications' closure over its
 * readings, 11 times a run).
 */
function uniqueReadings({ records }: StoreItem): Map<string, ObservationRecord> {
  const unique = new Map<string, ObservationRecord>();
  for (const record of records.observations) if (!unique.has(keyOf(record))) unique.set(keyOf(record), record);
  return unique;
}

/** What a batch touches: its documents (and their places in it), and its keys in key order with the documents touching each. */
interface TouchedKeys {
  documentIds: number[];
  indexOf: Map<number, number>;
  keys: string[];
  touchedBy: Map<string, number[]>;
}

/**
 * The keys the documents publish now or published at their last store, added to `publishedKeys`
 * and locked; undefined when there are none.
 */
async function lockTouchedKeys(client: PoolClient, items: readonly StoreItem[], uniques: ReadonlyArray<Map<string, ObservationRecord>>,
  publishedKeys: Array<Set<string>>): Promise<TouchedKeys | undefined> {
  const documentIds = emptyList<number>();
  const indexOf = new Map<number, number>();
  for (let i = 0; i < items.length; i += 1) {
    documentIds.push(items[i]!.ctx.documentId);
    indexOf.set(items[i]!.ctx.documentId, i);
  }
  // The keys the documents published at their last store, in both tables. Read before the key
  // locks (only a document's own store, which its lock excludes, adds or removes its keys); the rows
  // themselves are read under the key locks, since a store of another document can move them.
  const before = await client.query<{ document_id: number; key: string }>({
    name: 'nst-keys-of-documents',
    text: `SELECT document_id, concat_ws('|', ${KEY_COLUMNS.join(', ')}) AS key FROM core.quiet_publication WHERE document_id = ANY($1::bigint[])
           UNION ALL
           SELECT document_id, concat_ws('|', ${KEY_COLUMNS.join(', ')}) FROM core.observation WHERE document_id = ANY($1::bigint[])`,
    values: [documentIds],
  });
  // Every key a document touches (each set into its document's published keys), and the documents
  // touching each key, the first of the batch first.
  const touched = emptyList<Set<string>>();
  for (let i = 0; i < items.length; i += 1) touched.push(new Set(uniques[i]!.keys()));
  for (const row of before.rows) touched[indexOf.get(row.document_id)!]!.add(row.key);
  const touchedBy = new Map<string, number[]>();
  for (let i = 0; i < items.length; i += 1) {
    for (const key of touched[i]!) {
      const list = touchedBy.get(key);
      if (list) list.push(i);
      else touchedBy.set(key, [i]);
      publishedKeys[i]!.add(key);
    }
  }
  if (touchedBy.size === 0) return undefined;
  const keys = [...touchedBy.keys()].sort();
  // Then the keys, in key order (after every document lock, see storeDocuments): two batches
  // touching the same keys never deadlock, and never interleave.
  await client.query({ name: 'nst-lock-keys', text: LOCK_IN_ORDER, values: [arrayParam(keys)] });
  return { documentIds, indexOf, keys, touchedBy };
}

/** The stored publications of the touched keys, by key, with the batch's readings among them. */
interface PublicationState {
  /** Per batch document, its stored publication of each key. */
  published: Array<Map<string, StoredRow>>;
  pubsByKey: Map<string, PublicationRow[]>;
  /** Per batch document, its reading of each key. */
  readings: Array<Map<string, PublicationRow>>;
}

/**
 * The state read of {@link readPublications} (its text is the same for every batch). The EXISTS
 * look-ups are fenced as {@link byKey} is: unfenced, the planner hashed the whole of core.reject
 * and core.target_mention for every batch instead of probing their document_id indexes.
 */
const STATE_SQL = `SELECT 'q' AS kind, p.id, k.i AS key_index, p.value::text AS value, p.status, p.url, ${EPOCH_MS('p.published_at')} AS t1,
          p.document_id, ${OWN('p')} AS own, NULL::boolean AS has_mentions, NULL::boolean AS has_rejects
   FROM ${byKey('core.quiet_publication', 'p')}
   UNION ALL
   SELECT 'o', o.id, k.i, o.value::text, o.status, o.url, ${EPOCH_MS('o.valid_from')}, o.document_id, ${OWN('o')}, NULL, NULL
   FROM ${byKey('core.observation', 'o')}
   UNION ALL
   SELECT 'f', d.id, NULL, NULL, NULL, NULL, NULL, d.id, NULL,
          EXISTS (SELECT 1 FROM core.target_mention WHERE document_id = d.id OFFSET 0), EXISTS (SELECT 1 FROM core.reject WHERE document_id = d.id OFFSET 0)
   FROM unnest($6::bigint[]) AS d(id)`;

/** Add a publication to its key's list. */
function addPublication(pubsByKey: Map<string, PublicationRow[]>, row: PublicationRow): void {
  const list = pubsByKey.get(row.key);
  if (list) list.push(row);
  else pubsByKey.set(row.key, [row]);
}

/** Read under the key locks: every publication of the keys, the batch's readings added (and whether each document has mentions or rejects, into `existingRows`). */
async function readPublications(client: PoolClient, items: readonly StoreItem[], uniques: ReadonlyArray<Map<string, ObservationRecord>>,
  { documentIds, indexOf, keys }: TouchedKeys, existingRows: ExistingRows[]): Promise<PublicationState> {
  // The publications and vintages of the keys, and whether each document already has mentions or
  // rejects ('f' rows), in one round trip: one row layout for every kind (t1: published_at, or
  // valid_from). Only what deriving vintages needs leaves PostgreSQL: a key as its
  // place in `keys`, times as epoch milliseconds, and for the batch documents' own rows what a new
  // reading is compared with (`own`); a publication that moves between the tables is copied there.
  // Read under the document and key locks, so a concurrent store of the same documents or keys has
  // committed or not begun. Prepared: see INDEX_LOOKUPS.
  const { rows: stateRows } = await client.query<StateRow>({
    name: 'nst-state-read',
    text: STATE_SQL,
    values: arrays(...keyArrays(keys), documentIds),
  });
  const published = mapped(items, () => new Map<string, StoredRow>());
  const pubsByKey = new Map<string, PublicationRow[]>();
  for (const r of stateRows) {
    if (r.kind === 'f') {
      existingRows[indexOf.get(r.id)!] = { mentions: r.has_mentions, rejects: r.has_rejects };
      continue;
    }
    const key = keys[r.key_index - 1]!;
    const i = r.own === null ? undefined : indexOf.get(r.document_id);
    if (i === undefined) {
      const stored: StoredRow = { table: r.kind, id: r.id, value: r.value, validFrom: r.t1, documentId: r.document_id, own: undefined };
      addPublication(pubsByKey, { id: r.id, value: r.value, status: r.status, publishedAt: new Date(r.t1), documentId: r.document_id, url: r.url, key, stored, reading: undefined });
      continue;
    }
    // A row of a batch document: what its new reading replaces. One per document and key, in one of the tables.
    if (published[i]!.has(key)) throw new Error(`storeDocuments: document ${r.document_id} has more than one publication of ${key}`);
    const [rawValue, unit, unitMult, basis, locator, parserVersion] = JSON.parse(r.own!) as [string, string, number, string, string, string];
    const own: OwnFields = { status: r.status, url: r.url, raw_value: rawValue, unit, unit_mult: unitMult, basis, locator, parser_version: parserVersion };
    published[i]!.set(key, { table: r.kind, id: r.id, value: r.value, validFrom: r.t1, documentId: r.document_id, own });
  }
  // The batch's readings replace what their documents stored (a loop, not a closure per batch: see uniqueReadings).
  const readings = emptyList<Map<string, PublicationRow>>();
  for (let i = 0; i < items.length; i += 1) {
    const { ctx } = items[i]!;
    const byKey = new Map<string, PublicationRow>();
    for (const [key, r] of uniques[i]!) {
      const before = published[i]!.get(key);
      const reading: PublicationRow = { id: 0, value: r.value, status: r.status, publishedAt: ctx.validFrom, documentId: ctx.documentId, url: ctx.url, key,
        stored: undefined, reading: { r, ctx, before, same: samePublication(before, r, ctx) } };
      byKey.set(key, reading);
      addPublication(pubsByKey, reading);
    }
    readings.push(byKey);
  }
  return { published, pubsByKey, readings };
}

/** The rows to write so that the stored vintages and quiet publications of every touched key are those derived from its publications. */
interface VintagePlan {
  deletes: number[];
  quietFromVintages: number[];
  updates: Array<{ id: number; reading: Reading }>;
  inserts: PublicationRow[];
  moves: PublicationRow[];
  quietDeletes: number[];
  quietUpdates: Array<{ id: number; publication: PublicationRow }>;
  quietInserts: PublicationRow[];
}

/**
 * Whether a publication is stored as a vintage, or as a quiet publication. Not `row?.table === 'o'`:
 * V8 compiles a comparison for the kinds of values it has met, and one that had met only tables
 * threw planVintages' code away when the first publication stored nowhere came by.
 */
const isVintage = (row: StoredRow | undefined): row is StoredRow => row !== undefined && row.table === 'o';
const isQuiet = (row: StoredRow | undefined): row is StoredRow => row !== undefined && row.table === 'q';

/** Derive each key's vintages and compare them with what is stored; counts and changed keys go to `outcomes`. */
function planVintages({ keys, touchedBy }: TouchedKeys, { published, pubsByKey, readings }: PublicationState, outcomes: MutableOutcome[]): VintagePlan {
  // Vintages: rows deleted (o→q: copied to the quiet table first), updated (their validity, and what
  // a reading says), inserted (from a reading, or moved from the quiet table).
  const deletes = emptyList<number>();
  const quietFromVintages = emptyList<number>();
  const updates = emptyList<{ id: number; reading: Reading }>();
  const inserts = emptyList<PublicationRow>();
  const moves = emptyList<PublicationRow>();
  // Quiet publications: deleted (a batch document's that is gone or now opens a vintage), updated
  // and inserted (readings that open none).
  const quietDeletes = emptyList<number>();
  const quietUpdates = emptyList<{ id: number; publication: PublicationRow }>();
  const quietInserts = emptyList<PublicationRow>();
  for (const key of keys) {
    const touching = touchedBy.get(key)!;
    const counts = outcomes[touching[0]!]!.counts;
    const publications = pubsByKey.get(key) ?? [];
    const wanted = deriveVintages(publications);
    const opens = new Set(wanted.map((vintage) => vintage.publication));
    // The key's stored vintages, the batch documents' included, by identity (time and document).
    const current = new Map<string, StoredRow>();
    for (const p of publications) if (isVintage(p.stored)) current.set(`${p.stored.validFrom}|${p.documentId}`, p.stored);
    for (const i of touching) {
      const row = published[i]!.get(key);
      if (isVintage(row)) current.set(`${row.validFrom}|${row.documentId}`, row);
      // A quiet publication of a batch document goes if the document no longer states the key, or its reading now opens a vintage.
      const reading = readings[i]!.get(key);
      if (isQuiet(row) && (!reading || opens.has(reading))) quietDeletes.push(row.id);
    }
    const existed = current.size > 0;
    let added = 0;
    let changed = false;
    for (const vintage of wanted) {
      const p = vintage.publication;
      const identity = `${vintage.validFrom.getTime()}|${p.documentId}`;
      const row = current.get(identity);
      if (!row) {
        (p.stored ? moves : inserts).push(p);
        added += 1;
        continue;
      }
      current.delete(identity);
      // The row is this publication's own (its document's at that time): only what a reading says can
      // differ. Its end is the next vintage's start, which no row holds.
      const reading = p.reading && !p.reading.same ? p.reading : undefined;
      if (!reading) counts.unchanged += 1;
      else {
        updates.push({ id: row.id, reading });
        changed = true;
        if (row.value !== p.value) counts.revised += 1;
      }
    }
    for (const row of current.values()) deletes.push(row.id);
    counts.removed += current.size;
    // Publications that open no vintage: another document's vintage that opens none now moves to the
    // quiet table; a reading is written there unless its document's quiet row already says the same.
    for (const p of publications) {
      if (opens.has(p)) continue;
      if (isVintage(p.stored)) quietFromVintages.push(p.stored.id);
      else if (p.reading) {
        const { before, same } = p.reading;
        if (isQuiet(before)) {
          if (!same) quietUpdates.push({ id: before.id, publication: p });
        } else quietInserts.push(p);
      }
    }
    if (added > 0 || current.size > 0 || changed) for (const i of touching) outcomes[i]!.changedKeys.add(key);
    // A key new to the database: its first vintage is an insertion, later ones (a revision stored in
    // the same batch) revisions, as when the documents are stored one after the other.
    if (!existed && added > 0) {
      counts.inserted += 1;
      counts.revised += added - 1;
    } else counts.revised += added;
  }
  return { deletes, quietFromVintages, updates, inserts, moves, quietDeletes, quietUpdates, quietInserts };
}

/**
 * Statements of one transaction given without waiting for each other: each is sent when the one
 * before it is done (by this class: pg's own queue of a busy client's queries is deprecated), so
 * the JavaScript building the next one runs while PostgreSQL runs the last. Each statement's result is checked once it comes;
 * `done` waits for every one and fails with the first failure in statement order (after a
 * failure, PostgreSQL refuses the rest of the transaction, so the statements after it fail too).
 */
class Writes {
  private readonly sent: Array<Promise<void>> = [];
  private last: Promise<unknown> = Promise.resolve();

  constructor(private readonly client: PoolClient) {}

  send<R extends QueryResultRow>(query: QueryConfig, check: (result: QueryResult<R>) => void = () => undefined): void {
    const sent = this.last.then(() => this.client.query<R>(query));
    this.last = sent.catch(() => undefined);
    const result = sent.then(check);
    // Handled now, read in `done`: a failure before `done` is called (a later statement's
    // parameters failing to build) must not become an unhandled rejection.
    result.catch(() => undefined);
    this.sent.push(result);
  }

  /**
   * A statement whose result is needed now, given in turn. If it fails, the first failure in
   * statement order is thrown (its own, or that of a statement before it, which made it fail).
   */
  async query<R extends QueryResultRow>(query: QueryConfig): Promise<QueryResult<R>> {
    let result: QueryResult<R> | undefined;
    this.send<R>(query, (r) => {
      result = r;
    });
    try {
      await this.sent.at(-1);
    } catch (error) {
      await this.done();
      throw error;
    }
    return result!;
  }

  /**
   * Once every statement given has been answered. Called before the transaction ends, whatever
   * happened: a statement given but not yet sent must not reach PostgreSQL after the caller's
   * ROLLBACK, outside the transaction.
   */
  async settled(): Promise<void> {
    await Promise.allSettled(this.sent);
  }

  async done(): Promise<void> {
    const settled = await Promise.allSettled(this.sent);
    const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Every row deleted was read under the locks: the counts say so, or the transaction fails. */
function deleteRows(writes: Writes, { quietDeletes, deletes, quietFromVintages }: VintagePlan): void {
  if (quietDeletes.length > 0) {
    writes.send({ name: 'nst-delete-quiet-publications', text: 'DELETE FROM core.quiet_publication WHERE id = ANY($1::bigint[])', values: arrays(quietDeletes) },
      ({ rowCount }) => expectRows(rowCount, quietDeletes.length, 'quiet publications to delete'));
  }
  if (deletes.length > 0) {
    // A vintage another document's publication opened, and that opens none now, stays as a quiet publication.
    writes.send<{ deleted: number; kept: number }>({
      name: 'nst-delete-vintages',
      text: `WITH gone AS (DELETE FROM core.observation WHERE id = ANY($1::bigint[]) RETURNING *),
            kept AS (INSERT INTO core.quiet_publication (${KEY_COLUMNS.join(', ')}, ${FIELDS.join(', ')}, published_at, document_id)
                     SELECT ${KEY_COLUMNS.join(', ')}, ${FIELDS.join(', ')}, valid_from, document_id FROM gone WHERE id = ANY($2::bigint[]) RETURNING 1)
       SELECT (SELECT count(*) FROM gone)::int AS deleted, (SELECT count(*) FROM kept)::int AS kept`,
      values: arrays(deletes, quietFromVintages),
    }, ({ rows: [done] }) => {
      if (done?.deleted !== deletes.length || done.kept !== quietFromVintages.length) {
        throw new Error(`storeDocuments: ${deletes.length} vintages to delete and ${quietFromVintages.length} to keep as quiet publications, ${done?.deleted ?? 0} and ${done?.kept ?? 0} done`);
      }
    });
  }
}

/** Vintages of the batch's documents whose reading changed: each row takes what its reading says. */
function updateVintages(writes: Writes, updates: VintagePlan['updates']): void {
  if (updates.length === 0) return;
  // Under the locks every row is there, and the counts say so.
  writes.send({
    name: 'nst-update-vintages',
    text: `UPDATE core.observation o SET ${FIELDS.map((c) => `${c} = v.${c}`).join(', ')}, recorded_at = now()
     FROM unnest($1::bigint[], ${arrayParams(FIELD_TYPES, 2)}) AS v(id, ${FIELDS.join(', ')})
     WHERE o.id = v.id`,
    values: arrays(updates.map((u) => u.id), ...columnsOf(updates.map(({ reading }) => fieldsOf(reading.r, reading.ctx)), FIELDS.length)),
  }, ({ rowCount }) => expectRows(rowCount, updates.length, 'vintages to update'));
}

/**
 * The period start and end dates of the writes' keys, as two columns. A batch writes a few hundred
 * keys over a handful of periods: each (accumulation, period) is worked out once.
 */
function rangesOf(publications: readonly PublicationRow[]): string[][] {
  const known = new Map<string, { start: string; end: string }>();
  const starts: string[] = [];
  const ends: string[] = [];
  for (const { key } of publications) {
    // `…|accumulation|period`: the key's last two fields.
    const tail = key.slice(key.lastIndexOf('|', key.lastIndexOf('|') - 1) + 1);
    let range = known.get(tail);
    if (range === undefined) {
      const { period, accumulation } = splitKey(key);
      range = periodRange(period, accumulation as 'period' | 'ytd');
      known.set(tail, range);
    }
    starts.push(range.start);
    ends.push(range.end);
  }
  return [starts, ends];
}

/** New vintages: from readings, and from quiet publications of other documents that open one now. */
function insertVintages(writes: Writes, { inserts, moves }: VintagePlan): void {
  if (inserts.length > 0) {
    // Readings: in the order of `inserts` (keys in order), so the ids follow it.
    writes.send({
      name: 'nst-insert-vintages',
      text: `INSERT INTO core.observation (${KEY_COLUMNS.join(', ')}, period_start, period_end, ${FIELDS.join(', ')}, document_id, valid_from)
       SELECT ${KEY_COLUMNS.join(', ')}, period_start, period_end, ${FIELDS.join(', ')}, document_id, valid_from
       FROM unnest(${arrayParams(['text', 'text', 'text', 'text', 'text', 'date', 'date', ...FIELD_TYPES, 'bigint', 'timestamptz'], 1)})
            AS v(${KEY_COLUMNS.join(', ')}, period_start, period_end, ${FIELDS.join(', ')}, document_id, valid_from)`,
      values: arrays(...keyColumnsOf(inserts.map((p) => p.reading!.r)), ...rangesOf(inserts),
        ...columnsOf(inserts.map(({ reading }) => fieldsOf(reading!.r, reading!.ctx)), FIELDS.length),
        inserts.map((p) => p.documentId), inserts.map((p) => isoOf(p.publishedAt))),
    }, ({ rowCount }) => expectRows(rowCount, inserts.length, 'vintages to insert'));
  }
  if (moves.length > 0) {
    // Quiet publications of other documents that open a vintage now move to core.observation.
    // valid_from is the publication time to the millisecond, as a reading's is (isoOf).
    writes.send({
      name: 'nst-open-vintages',
      text: `WITH moved AS (DELETE FROM core.quiet_publication WHERE id = ANY($1::bigint[]) RETURNING *)
       INSERT INTO core.observation (${KEY_COLUMNS.join(', ')}, period_start, period_end, ${FIELDS.join(', ')}, document_id, valid_from)
       SELECT ${KEY_COLUMNS.map((c) => `p.${c}`).join(', ')}, v.period_start, v.period_end, ${FIELDS.map((c) => `p.${c}`).join(', ')}, p.document_id,
              date_trunc('milliseconds', p.published_at)
       FROM unnest($1::bigint[], $2::date[], $3::date[]) WITH ORDINALITY AS v(id, period_start, period_end, i)
            JOIN moved p ON p.id = v.id
       ORDER BY v.i`,
      values: arrays(moves.map((p) => p.stored!.id), ...rangesOf(moves)),
    }, ({ rowCount }) => expectRows(rowCount, moves.length, 'quiet publications to open vintages'));
  }
}

/** Readings that open no vintage, written to the quiet table (or over their document's row there). */
function writeQuietPublications(writes: Writes, { quietUpdates, quietInserts }: VintagePlan): void {
  if (quietUpdates.length > 0) {
    writes.send({
      name: 'nst-update-quiet-publications',
      text: `UPDATE core.quiet_publication q SET ${FIELDS.map((c) => `${c} = v.${c}`).join(', ')}, published_at = v.published_at
       FROM unnest($1::bigint[], $2::timestamptz[], ${arrayParams(FIELD_TYPES, 3)}) AS v(id, published_at, ${FIELDS.join(', ')})
       WHERE q.id = v.id`,
      values: arrays(quietUpdates.map((u) => u.id), quietUpdates.map((u) => isoOf(u.publication.publishedAt)),
        ...columnsOf(quietUpdates.map(({ publication: { reading } }) => fieldsOf(reading!.r, reading!.ctx)), FIELDS.length)),
    }, ({ rowCount }) => expectRows(rowCount, quietUpdates.length, 'quiet publications to update'));
  }
  if (quietInserts.length > 0) {
    writes.send({
      name: 'nst-insert-quiet-publications',
      text: `INSERT INTO core.quiet_publication (${KEY_COLUMNS.join(', ')}, ${FIELDS.join(', ')}, published_at, document_id)
       SELECT * FROM unnest(${arrayParams(['text', 'text', 'text', 'text', 'text', ...FIELD_TYPES, 'timestamptz', 'bigint'], 1)})`,
      values: arrays(...keyColumnsOf(quietInserts.map((p) => p.reading!.r)), ...columnsOf(quietInserts.map(({ reading }) => fieldsOf(reading!.r, reading!.ctx)), FIELDS.length),
        quietInserts.map((p) => isoOf(p.publishedAt)), quietInserts.map((p) => p.documentId)),
    });
  }
}

/**
 * Bump when storing or the derivation of vintages changes what a document's records become in the
 * database: the digest then differs, and the next reprocess stores every document again.
 */
export const STORE_VERSION = 1;

/**
 * The digest of a document's reading: its records in the parser's order (`records`: the JSON of
 * {@link DocumentRecords}, as a PackedParse holds it), when they take effect and the parser
 * and storage versions. Equal to the digest stored with the rows, storing would change nothing:
 * the document's own rows are what it says, and the vintages of its keys were derived with them by
 * the last store that touched each key (every store re-derives the keys it touches).
 *
 * It is the sha256 of `JSON.stringify([STORE_VERSION, parser version, URL, valid from, published
 * at, records])`, the records' text hashed as it came rather than stringified again: the JSON of an
 * array is its elements' JSON joined by commas.
 */
export function recordsDigest(records: string, ctx: Pick<StoreContext, 'validFrom' | 'publishedAt' | 'parserVersion' | 'url'>): string {
  const head = JSON.stringify([STORE_VERSION, ctx.parserVersion, ctx.url, ctx.validFrom.toISOString(), ctx.publishedAt?.toISOString() ?? null]);
  return createHash('sha256').update(`${head.slice(0, -1)},`).update(records).update(']').digest('hex');
}

/** What storing a document did: the counts, and the figure keys whose vintages changed. */
export interface StoreOutcome {
  /** The rows this document changed; a key several documents of a batch touch counts for the first. */
  counts: StoreCounts;
  /** `district|indicator|measure|accumulation|period` of every key of this document with a vintage inserted, updated or deleted. */
  changedKeys: ReadonlySet<string>;
  /** Every key the document states now or stated before this store (whose vintages were re-derived). */
  touchedKeys: ReadonlySet<string>;
}

interface MutableOutcome {
  counts: StoreCounts;
  changedKeys: Set<string>;
  touchedKeys: Set<string>;
}

/** Store one document's records (see {@link storeDocuments}). */
export async function storeRecords(client: PoolClient, records: DocumentRecords, ctx: StoreContext): Promise<StoreOutcome> {
  const [outcome] = await storeDocuments(client, [{ records, ctx }]);
  return outcome!;
}

/**
 * Store several documents' records in the caller's transaction, with about as many statements as
 * one document takes: the result is the same as storing them one after another (vintages depend only
 * on the set of publications), and the round trips are shared. The documents must be distinct.
 */
export async function storeDocuments(client: PoolClient, batch: readonly StoreItem[]): Promise<StoreOutcome[]> {
  // In document order: rows of their own (news items by URL) are then written in the same order by
  // every batch, whichever replica runs it. A copy by `mapped`, whatever kind of array the batch is (@nst/shared/arrays).
  const items = mapped(batch, (item) => item).sort((a, b) => a.ctx.documentId - b.ctx.documentId);
  if (new Set(mapped(items, (item) => item.ctx.documentId)).size !== items.length) throw new Error('storeDocuments: a document appears twice in one batch');
  const outcomes = mapped(items, (): MutableOutcome => ({
    counts: { inserted: 0, revised: 0, unchanged: 0, removed: 0, news: 0, targetMentions: 0, rejects: 0 },
    changedKeys: new Set<string>(),
    touchedKeys: new Set<string>(),
  }));
  await client.query(INDEX_LOOKUPS);
  // The documents first, in one order (their keys are only known once their stored rows are read):
  // a duplicate job of one of them, here or in another replica, waits, and sees this one's rows.
  await client.query({ name: 'nst-lock-documents', text: LOCK_IN_ORDER, values: [items.map((item) => `document|${item.ctx.documentId}`)] });
  // Whether each document already has mentions or rejects (null: not known, looked up when needed).
  const existingRows = mapped(items, (): ExistingRows => ({ mentions: null, rejects: null }));
  // From the first write on, every statement goes through `writes`: none waits for the one before
  // it unless its result is needed (Writes.query).
  const writes = new Writes(client);
  try {
    await storeObservations(client, writes, items, outcomes, existingRows, mapped(outcomes, (outcome) => outcome.touchedKeys));

    for (let i = 0; i < items.length; i += 1) {
      const { records, ctx } = items[i]!;
      for (const item of records.news) {
        writes.send({
          text: `INSERT INTO core.news_item (document_id, url, title, lang, published_at, districts, industries, areas, summary, parser_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (url) DO UPDATE SET document_id = EXCLUDED.document_id, title = EXCLUDED.title, lang = EXCLUDED.lang,
             published_at = EXCLUDED.published_at, districts = EXCLUDED.districts, industries = EXCLUDED.industries,
             areas = EXCLUDED.areas, summary = EXCLUDED.summary, parser_version = EXCLUDED.parser_version
           WHERE (core.news_item.document_id, core.news_item.title, core.news_item.lang, core.news_item.published_at,
                  core.news_item.districts, core.news_item.industries, core.news_item.areas, core.news_item.summary, core.news_item.parser_version)
             IS DISTINCT FROM (EXCLUDED.document_id, EXCLUDED.title, EXCLUDED.lang, EXCLUDED.published_at, EXCLUDED.districts,
                  EXCLUDED.industries, EXCLUDED.areas, EXCLUDED.summary, EXCLUDED.parser_version)`,
          values: [ctx.documentId, ctx.url, item.title, item.lang, item.publishedAt ?? null, item.districts, item.industries, item.areas, item.summary ?? null,
            ctx.parserVersion],
        });
        outcomes[i]!.counts.news += 1;
      }
    }

    // Mentions and rejects belong to their document: made equal to this reading, touching only what differs.
    await syncDocumentRows(writes, 'core.target_mention', MENTION_COLUMNS, mapped(items, ({ records, ctx }, i) => {
      const mentions = new Map<string, TargetMentionRecord>();
      for (const mention of records.targetMentions) if (!mentions.has(mention.locator)) mentions.set(mention.locator, mention);
      outcomes[i]!.counts.targetMentions = mentions.size;
      return { documentId: ctx.documentId, hasRows: existingRows[i]!.mentions, rows: mapped([...mentions.values()], (m) => mentionRow(m, ctx)) };
    }));
    await syncDocumentRows(writes, 'core.reject', REJECT_COLUMNS, mapped(items, ({ records, ctx }, i) => {
      outcomes[i]!.counts.rejects = records.rejects.length;
      return { documentId: ctx.documentId, hasRows: existingRows[i]!.rejects, rows: mapped(records.rejects, (r) => rejectRow(r, ctx)) };
    }));
    // The stated publication time and the mark of the parser version, in one statement: a replay
    // leaves the rows as they were.
    writes.send({
      name: 'nst-mark-documents',
      text: `UPDATE raw.document d
       SET published_at = coalesce(v.published_at, d.published_at),
           normalized_at = CASE WHEN d.normalized_at IS NULL OR d.parser_version IS DISTINCT FROM v.parser_version THEN now() ELSE d.normalized_at END,
           parser_version = v.parser_version, records_digest = v.records_digest
       FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS v(id, parser_version, published_at, records_digest)
       WHERE d.id = v.id AND (d.normalized_at IS NULL OR d.parser_version IS DISTINCT FROM v.parser_version
                              OR d.published_at IS DISTINCT FROM coalesce(v.published_at, d.published_at) OR d.records_digest IS DISTINCT FROM v.records_digest)`,
      values: [items.map((item) => item.ctx.documentId), items.map((item) => item.ctx.parserVersion), items.map((item) => item.ctx.publishedAt ?? null),
        items.map((item) => item.ctx.recordsDigest ?? null)],
    });
    await writes.done();
  } finally {
    await writes.settled();
  }
  const byDocument = new Map(items.map((item, i) => [item.ctx.documentId, outcomes[i]!]));
  return batch.map((item) => byDocument.get(item.ctx.documentId)!);
}

const MENTION_COLUMNS = ['scope', 'indicator', 'value', 'unit', 'unit_mult', 'target_year', 'raw_text', 'locator', 'parser_version'] as const;
const mentionRow = (m: TargetMentionRecord, ctx: Pick<StoreContext, 'parserVersion'>) =>
  [m.scope, m.indicator ?? null, m.value ?? null, m.unit ?? null, m.unitMult ?? null, m.targetYear ?? null, m.rawText, m.locator, ctx.parserVersion];
const REJECT_COLUMNS = ['source_key', 'reason', 'detail', 'locator', 'raw', 'parser_version'] as const;
const rejectRow = (r: RejectRecord, ctx: Pick<StoreContext, 'sourceKey' | 'parserVersion'>) =>
  [ctx.sourceKey, r.reason, r.detail, r.locator, r.raw === undefined ? null : JSON.stringify(r.raw), ctx.parserVersion];

/** The rows one document should have in a table of its own rows. */
interface WantedRows {
  documentId: number;
  /** Whether the document has rows there now (false: none under the same locks; null: not known). */
  hasRows: boolean | null;
  /** Values for the table's columns, one list per row. */
  rows: ReadonlyArray<readonly unknown[]>;
}

/**
 * Make the rows of `table` belonging to each document equal what it wants: delete the rows no
 * longer wanted, insert the missing ones, leave equal rows alone; one statement of each kind for
 * every document together.
 */
async function syncDocumentRows(writes: Writes, table: string, columns: readonly string[], documents: readonly WantedRows[]): Promise<void> {
  const list = columns.join(', ');
  const lookup = emptyList<number>();
  for (const d of documents) if (d.hasRows !== false) lookup.push(d.documentId);
  const { rows } = lookup.length === 0 ? { rows: [] }
    : await writes.query<{ id: number; document_id: number; key: string }>({
      text: `SELECT id, document_id, json_build_array(${list})::text AS key FROM ${table} WHERE document_id = ANY($1::bigint[])`, values: [lookup] });
  // Stored rows by document, then by their key as PostgreSQL renders it.
  const existing = new Map<number, Map<string, number[]>>();
  for (const row of rows) {
    const byKey = existing.get(row.document_id) ?? new Map<string, number[]>();
    byKey.set(row.key, [...(byKey.get(row.key) ?? []), row.id]);
    existing.set(row.document_id, byKey);
  }
  // The wanted rows of documents that have rows, rendered by PostgreSQL exactly as the stored ones are.
  const compared = documents.filter((d) => existing.has(d.documentId) && d.rows.length > 0);
  const keys = await renderKeys(writes, columns, compared.flatMap((d) => d.rows));
  const missing: unknown[][] = [];
  let k = 0;
  for (const document of documents) {
    const stored = existing.get(document.documentId);
    for (const values of document.rows) {
      const ids = stored ? stored.get(keys[k++]!) : undefined;
      if (ids && ids.length > 0) ids.pop();
      else missing.push([document.documentId, ...values]);
    }
  }
  // Stale rows go first: a changed row may keep a unique key of the table (a mention's locator).
  const stale = [...existing.values()].flatMap((byKey) => [...byKey.values()].flat());
  if (stale.length > 0) writes.send({ text: `DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, values: [stale] });
  // Chunks keep each statement far below PostgreSQL's 65535-parameter limit.
  for (let i = 0; i < missing.length; i += 1000) {
    const { sql, params } = valuesList(missing.slice(i, i + 1000));
    writes.send({ text: `INSERT INTO ${table} (document_id, ${list}) VALUES ${sql}`, values: params });
  }
}

/** `json_build_array(…)::text` of each row of values, in order, as PostgreSQL renders the stored rows. */
async function renderKeys(writes: Writes, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>): Promise<string[]> {
  const keys: string[] = [];
  const names = columns.map((_c, i) => `c${i}`);
  for (let start = 0; start < rows.length; start += 1000) {
    const params: unknown[] = [];
    const tuples = rows.slice(start, start + 1000).map((values, i) => {
      const cells = [`$${params.push(i)}::int`];
      values.forEach((value, j) => cells.push(`$${params.push(value)}::${COLUMN_TYPES[columns[j]!] ?? 'text'}`));
      return `(${cells.join(', ')})`;
    });
    const { rows: rendered } = await writes.query<{ key: string }>({
      text: `SELECT json_build_array(${names.join(', ')})::text AS key FROM (VALUES ${tuples.join(', ')}) AS v(i, ${names.join(', ')}) ORDER BY i`,
      values: params,
    });
    keys.push(...rendered.map((row) => row.key));
  }
  return keys;
}

const COLUMN_TYPES: Record<string, string> = {
  value: 'numeric', unit_mult: 'smallint', target_year: 'integer', raw: 'jsonb',
};

/** Make the rejects of a document equal `rejects` (when the whole document is unreadable). */
export async function replaceRejects(client: PoolClient, rejects: readonly RejectRecord[], ctx: Pick<StoreContext, 'documentId' | 'sourceKey' | 'parserVersion'>): Promise<void> {
  const writes = new Writes(client);
  try {
    await syncDocumentRows(writes, 'core.reject', REJECT_COLUMNS, [{ documentId: ctx.documentId, hasRows: null, rows: rejects.map((r) => rejectRow(r, ctx)) }]);
    await writes.done();
  } finally {
    await writes.settled();
  }
}
