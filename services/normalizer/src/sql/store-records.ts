/**
 * Store one document's records in one transaction: its publications (every figure it states),
 * the vintages derived from all publications of the keys it touches, news items, target mentions
 * and rejects. The result depends only on the set of documents normalized, never on their order:
 * storing the same records again changes nothing, a changed figure closes the open vintage and
 * opens one, and records a document no longer yields (after a parser fix) disappear with the
 * vintages they opened.
 */
import { createHash } from 'node:crypto';
import type { PoolClient } from '@nst/shared/db';
import { periodRange } from '@nst/shared/domain';
import type { NewsItemRecord, ObservationRecord, RejectRecord, TargetMentionRecord } from '../records';
import { deriveVintages, type DerivedVintage, type Publication } from '../vintages';

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

/** A publication of a key, as its vintages are derived (what a vintage copies from it stays in PostgreSQL). */
interface PublicationRow extends Publication {
  key: string;
}

/** A publication of this document as stored (compared with a new reading before writing it). */
interface PublishedRow {
  key: string;
  value: string;
  raw_value: string;
  unit: string;
  unit_mult: number;
  status: string;
  basis: string;
  published_at: Date;
  url: string;
  locator: string;
  parser_version: string;
}

/**
 * Whether the stored publication already says what this reading says. Decimals are compared as
 * printed: `1725.0` against a stored `1725.00` counts as a change, and the upsert then finds them
 * equal (numeric comparison) and leaves the row alone; never the other way round.
 */
function samePublication(row: PublishedRow | undefined, r: ObservationRecord, ctx: StoreContext): boolean {
  return row !== undefined && row.value === r.value && row.raw_value === r.rawValue && row.unit === r.unit && row.unit_mult === r.unitMult &&
    row.status === r.status && row.basis === r.basis && row.published_at.getTime() === ctx.validFrom.getTime() && row.url === ctx.url &&
    row.locator === r.locator && row.parser_version === ctx.parserVersion;
}

/** What a vintage copies from its publication (and compares with it) besides the value. */
const COPIED_COLUMNS = ['raw_value', 'status', 'basis', 'unit', 'unit_mult', 'locator', 'parser_version', 'url'];
/** Every column a vintage copies from its publication `p`: its fields (the key and the document are its identity). */
const COPIED = ['value', ...COPIED_COLUMNS];

/**
 * Whether the vintage `o` says what its publication (its document's of the same key) says: a
 * lookup on the publication's unique key. Decimals compare as printed, as in {@link samePublication}.
 * False when the publication is gone (its vintage is then not derived any more, and goes).
 */
const AS_PUBLISHED = `EXISTS (SELECT 1 FROM core.publication p
  WHERE (p.document_id, p.district, p.indicator, p.measure, p.accumulation, p.period) = (o.document_id, o.district, o.indicator, o.measure, o.accumulation, o.period)
    AND p.value::text = o.value::text AND (${COPIED_COLUMNS.map((c) => `p.${c}`).join(', ')}) = (${COPIED_COLUMNS.map((c) => `o.${c}`).join(', ')}))`;

/**
 * A timestamp as whole epoch milliseconds, the precision of the JavaScript dates it is compared
 * with (floored, as `postgres-date` truncates, and as a vintage's `valid_from` is stored).
 */
const EPOCH_MS = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * A row of the combined read: a publication ('p') or a stored vintage ('o') of a key, or a
 * document's flags ('f', its id in `id`). Times are floored epoch milliseconds ({@link EPOCH_MS}):
 * an instant finer than a millisecond, which a store never writes but a bulk load may, compares as
 * the millisecond it falls in.
 */
interface StateRow {
  kind: 'p' | 'o' | 'f';
  id: number;
  /** Place of the key in the keys read, from 1. */
  key_index: number;
  value: string;
  /** A publication's status and URL (its order among publications of the same instant). */
  status: string | null;
  url: string | null;
  /** published_at of a publication, valid_from of a vintage. */
  t1: number;
  /** valid_to of a vintage. */
  t2: number | null;
  document_id: number;
  /** A vintage's {@link AS_PUBLISHED}. */
  as_published: boolean | null;
  has_mentions: boolean | null;
  has_rejects: boolean | null;
}

/** Whether the document already has rows of its own in these tables (null: not looked up). */
interface ExistingRows {
  mentions: boolean | null;
  rejects: boolean | null;
}

/** A stored vintage of a key, as compared with the derived ones. */
interface ObservationRow {
  id: number;
  value: string;
  validFrom: number;
  validTo: number | null;
  documentId: number;
  /** Its fields equal its publication's (then only its validity can differ from the derived vintage's). */
  asPublished: boolean;
}

/** Multi-row INSERT helper: `($1, $2, …), (…)` for `rows` of equal length. */
function valuesList(rows: ReadonlyArray<readonly unknown[]>, offset = 0): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const tuples = rows.map((row) => `(${row.map((value) => {
    params.push(value);
    return `$${params.length + offset}`;
  }).join(', ')})`);
  return { sql: tuples.join(', '), params };
}

/** The key columns of `keys` as parallel arrays, for `unnest` joins. */
function keyArrays(keys: readonly string[]): string[][] {
  const columns: string[][] = [[], [], [], [], []];
  for (const key of keys) key.split('|').forEach((part, i) => columns[i]!.push(part));
  return columns;
}

const KEY_JOIN = `JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS k(district, indicator, measure, accumulation, period, i)
  USING (district, indicator, measure, accumulation, period)`;

/** The columns of a figure's key, in key order. */
export const KEY_COLUMNS = ['district', 'indicator', 'measure', 'accumulation', 'period'];

/** Transaction-level advisory locks on the texts of `$1`, taken in their order. */
const LOCK_IN_ORDER = 'SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 7270) AS h FROM unnest($1::text[]) AS k ORDER BY k) locks';

/** One document to store: its records and where they come from. */
export interface StoreItem {
  records: DocumentRecords;
  ctx: StoreContext;
}

/**
 * Write publications read from documents: `insert` for documents that have none stored, `upsert`
 * for the others (a stored publication of the same document and key is updated where it differs).
 * Parallel arrays through unnest: one statement text whatever the row count, so PostgreSQL plans it
 * once per connection (a VALUES list of n rows is a new statement for every n).
 */
async function writePublications(client: PoolClient, rows: ReadonlyArray<{ r: ObservationRecord; ctx: StoreContext }>, mode: 'insert' | 'upsert'): Promise<void> {
  if (rows.length === 0) return;
  const column = <T>(pick: (c: (typeof rows)[number]) => T) => rows.map(pick);
  await client.query({
    name: `nst-${mode}-publications`,
    text: `INSERT INTO core.publication (district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis,
                                   published_at, document_id, url, locator, parser_version)
     SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, published_at, document_id, url, locator,
            parser_version
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], $8::text[], $9::smallint[], $10::text[],
                 $11::text[], $12::timestamptz[], $13::bigint[], $14::text[], $15::text[], $16::text[])
          AS r(district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, published_at, document_id, url,
               parser_version, locator)${mode === 'insert' ? '' : `
     ON CONFLICT (document_id, district, indicator, measure, accumulation, period) DO UPDATE SET
       value = EXCLUDED.value, raw_value = EXCLUDED.raw_value, unit = EXCLUDED.unit, unit_mult = EXCLUDED.unit_mult, status = EXCLUDED.status,
       basis = EXCLUDED.basis, published_at = EXCLUDED.published_at, url = EXCLUDED.url, locator = EXCLUDED.locator, parser_version = EXCLUDED.parser_version
     WHERE (core.publication.value, core.publication.raw_value, core.publication.unit, core.publication.unit_mult, core.publication.status,
            core.publication.basis, core.publication.published_at, core.publication.url, core.publication.locator, core.publication.parser_version)
       IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.raw_value, EXCLUDED.unit, EXCLUDED.unit_mult, EXCLUDED.status, EXCLUDED.basis,
            EXCLUDED.published_at, EXCLUDED.url, EXCLUDED.locator, EXCLUDED.parser_version)`}`,
    values: [column((c) => c.r.district), column((c) => c.r.indicator), column((c) => c.r.measure), column((c) => c.r.accumulation), column((c) => c.r.period),
      column((c) => c.r.value), column((c) => c.r.rawValue), column((c) => c.r.unit), column((c) => c.r.unitMult), column((c) => c.r.status),
      column((c) => c.r.basis), column((c) => c.ctx.validFrom), column((c) => c.ctx.documentId), column((c) => c.ctx.url), column((c) => c.ctx.parserVersion),
      column((c) => c.r.locator)],
  });
}

/**
 * Record the documents' publications, then re-derive the vintages of every key they touch (now or
 * before) from all publications of that key, and make core.observation equal to them, touching
 * only rows that differ. One statement of each kind for the whole batch (publications: one for the
 * documents new to the table, one for the others).
 */
async function storeObservations(client: PoolClient, items: readonly StoreItem[], outcomes: MutableOutcome[], existingRows: ExistingRows[],
  publishedKeys: Array<Set<string>>): Promise<void> {
  // One figure per key per document: a page that prints a figure twice keeps the first reading.
  const uniques = items.map(({ records }) => {
    const unique = new Map<string, ObservationRecord>();
    for (const record of records.observations) if (!unique.has(keyOf(record))) unique.set(keyOf(record), record);
    return unique;
  });
  const documentIds = items.map((item) => item.ctx.documentId);
  const indexOf = new Map(documentIds.map((id, i) => [id, i]));
  // What the documents published at their last store: their keys, and the rows to compare with (an
  // unchanged figure is not written again; ON CONFLICT DO UPDATE locks, and so writes, every row
  // it meets even when its WHERE then skips the update).
  const before = await client.query<PublishedRow & { document_id: number }>({
    name: 'nst-publications-of-documents',
    text: `SELECT document_id, concat_ws('|', district, indicator, measure, accumulation, period) AS key, value::text AS value, raw_value, unit, unit_mult,
                  status, basis, published_at, url, locator, parser_version
           FROM core.publication WHERE document_id = ANY($1::bigint[])`,
    values: [documentIds],
  });
  const published = items.map(() => new Map<string, PublishedRow>());
  for (const row of before.rows) published[indexOf.get(row.document_id)!]!.set(row.key, row);
  // Every key a document touches, each counted for the first document of the batch that touches it.
  const touchedBy = new Map<string, number[]>();
  const touched = items.map((_item, i) => new Set([...uniques[i]!.keys(), ...published[i]!.keys()]));
  items.forEach((_item, i) => {
    for (const key of touched[i]!) {
      const list = touchedBy.get(key);
      if (list) list.push(i);
      else touchedBy.set(key, [i]);
    }
  });
  const keys = [...touchedBy.keys()].sort();
  for (const [i, published] of publishedKeys.entries()) for (const key of touched[i]!) published.add(key);
  if (keys.length === 0) return;
  // Then the keys, in key order (after every document lock, see storeDocuments): two batches
  // touching the same keys never deadlock, and never interleave.
  await client.query({ name: 'nst-lock-keys', text: LOCK_IN_ORDER, values: [keys] });

  const gone = items.flatMap((item, i) => [...published[i]!.keys()].filter((key) => !uniques[i]!.has(key)).map((key) => ({ documentId: item.ctx.documentId, key })));
  if (gone.length > 0) {
    await client.query(`DELETE FROM core.publication p USING unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
        AS k(document_id, district, indicator, measure, accumulation, period)
      WHERE (p.document_id, p.district, p.indicator, p.measure, p.accumulation, p.period) = (k.document_id, k.district, k.indicator, k.measure, k.accumulation, k.period)`,
      [gone.map((g) => g.documentId), ...keyArrays(gone.map((g) => g.key))]);
  }
  const changed = items.flatMap((item, i) =>
    [...uniques[i]!.entries()].filter(([key, r]) => !samePublication(published[i]!.get(key), r, item.ctx)).map(([, r]) => ({ r, ctx: item.ctx, i })));
  // A document with no publication stored (the read above, under its lock, saw none: READ COMMITTED
  // reads what committed before the statement, after the lock was granted) cannot meet one of its
  // own: its rows are plainly inserted, without the upsert's conflict checks.
  await writePublications(client, changed.filter((c) => published[c.i]!.size === 0), 'insert');
  await writePublications(client, changed.filter((c) => published[c.i]!.size > 0), 'upsert');

  // Publications and vintages of the keys, and whether each document already has mentions or
  // rejects ('f' rows), in one round trip: one row layout for every kind (t1/t2: published_at, or
  // valid_from and valid_to). Only what deriving and comparing vintages needs leaves PostgreSQL: a
  // key as its place in `keys`, times as epoch milliseconds, and whether a vintage still says what
  // its publication says (compared there); a vintage written is copied from its publication there
  // too. Read under the document and key locks, so a concurrent store of the same document or keys
  // has committed or not begun. Not prepared (no `name`): a generic plan for a join with an array
  // parameter knows nothing of its length and scans the whole table; a custom plan uses the key index.
  const { rows: stateRows } = await client.query<StateRow>({
    text: `SELECT 'p' AS kind, p.id, k.i AS key_index, p.value::text AS value, p.status, p.url, ${EPOCH_MS('p.published_at')} AS t1,
            NULL::float8 AS t2, p.document_id, NULL::boolean AS as_published, NULL::boolean AS has_mentions, NULL::boolean AS has_rejects
     FROM core.publication p ${KEY_JOIN}
     UNION ALL
     SELECT 'o', o.id, k.i, o.value::text, NULL, NULL, ${EPOCH_MS('o.valid_from')}, ${EPOCH_MS('o.valid_to')},
            o.document_id, ${AS_PUBLISHED}, NULL, NULL
     FROM core.observation o ${KEY_JOIN}
     UNION ALL
     SELECT 'f', d.id, NULL, NULL, NULL, NULL, NULL, NULL, d.id, NULL,
            EXISTS (SELECT 1 FROM core.target_mention WHERE document_id = d.id), EXISTS (SELECT 1 FROM core.reject WHERE document_id = d.id)
     FROM unnest($6::bigint[]) AS d(id)`,
    values: [...keyArrays(keys), documentIds],
  });
  const pubsByKey = new Map<string, PublicationRow[]>();
  const rowsByKey = new Map<string, ObservationRow[]>();
  for (const r of stateRows) {
    if (r.kind === 'f') {
      existingRows[indexOf.get(r.id)!] = { mentions: r.has_mentions, rejects: r.has_rejects };
      continue;
    }
    const key = keys[r.key_index - 1]!;
    if (r.kind === 'p') {
      const list = pubsByKey.get(key) ?? [];
      list.push({ id: r.id, key, value: r.value, status: r.status!, publishedAt: new Date(r.t1), documentId: r.document_id, url: r.url! });
      pubsByKey.set(key, list);
    } else {
      const list = rowsByKey.get(key) ?? [];
      list.push({ id: r.id, value: r.value, validFrom: r.t1, validTo: r.t2, documentId: r.document_id, asPublished: r.as_published === true });
      rowsByKey.set(key, list);
    }
  }

  const deletes: number[] = [];
  const updates: Array<{ id: number; vintage: DerivedVintage<PublicationRow> }> = [];
  const inserts: Array<DerivedVintage<PublicationRow>> = [];
  for (const key of keys) {
    const updatesBefore = updates.length;
    const touching = touchedBy.get(key)!;
    const counts = outcomes[touching[0]!]!.counts;
    const current = rowsByKey.get(key) ?? [];
    const wanted = deriveVintages(pubsByKey.get(key) ?? []);
    const byIdentity = new Map(current.map((row) => [`${row.validFrom}|${row.documentId}`, row]));
    let added = 0;
    for (const vintage of wanted) {
      const identity = `${vintage.validFrom.getTime()}|${vintage.publication.documentId}`;
      const row = byIdentity.get(identity);
      if (!row) {
        inserts.push(vintage);
        added += 1;
        continue;
      }
      byIdentity.delete(identity);
      const p = vintage.publication;
      // The row's identity is its publication's (document, and the key): asPublished compared the two.
      if (row.validTo === (vintage.validTo?.getTime() ?? null) && row.asPublished) counts.unchanged += 1;
      else {
        updates.push({ id: row.id, vintage });
        if (row.value !== p.value) counts.revised += 1;
      }
    }
    for (const row of byIdentity.values()) deletes.push(row.id);
    counts.removed += byIdentity.size;
    if (added > 0 || byIdentity.size > 0 || updates.length > updatesBefore) for (const i of touching) outcomes[i]!.changedKeys.add(key);
    // A key new to the database: its first vintage is an insertion, later ones (a revision stored in
    // the same batch) revisions, as when the documents are stored one after the other.
    if (current.length === 0 && added > 0) {
      counts.inserted += 1;
      counts.revised += added - 1;
    } else counts.revised += added;
  }

  if (deletes.length > 0) await client.query('DELETE FROM core.observation WHERE id = ANY($1::bigint[])', [deletes]);
  // Closings before openings: at most one open vintage per key at every step (the unique index
  // is checked row by row, so the two kinds are two statements, not one).
  const closings = updates.filter((u) => u.vintage.validTo !== null);
  const openings = updates.filter((u) => u.vintage.validTo === null);
  for (const group of [closings, openings]) {
    if (group.length === 0) continue;
    // What a vintage says is copied from its publication, written earlier in this transaction. Not
    // prepared either: joins with array parameters (see the reads above).
    const { rowCount } = await client.query(
      `UPDATE core.observation o SET valid_to = v.valid_to, ${COPIED.map((c) => `${c} = p.${c}`).join(', ')}, recorded_at = now()
       FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS v(id, publication_id, valid_to) JOIN core.publication p ON p.id = v.publication_id
       WHERE o.id = v.id`,
      [group.map((u) => u.id), group.map((u) => u.vintage.publication.id), group.map((u) => u.vintage.validTo)],
    );
    // A join drops a row silently: under the locks every row is there, and the counts say so.
    if (rowCount !== group.length) throw new Error(`storeDocuments: ${group.length} vintages to update, ${rowCount ?? 0} updated`);
  }
  if (inserts.length > 0) {
    const ranges = inserts.map((vintage) => {
      const { period, accumulation } = splitKey(vintage.publication.key);
      return periodRange(period, accumulation as 'period' | 'ytd');
    });
    // In the order of `inserts` (keys in order): the ids follow it whatever plan the join gets.
    // valid_from is the publication time to the millisecond, as every valid_to written is (EPOCH_MS).
    const { rowCount } = await client.query(
      `INSERT INTO core.observation (${KEY_COLUMNS.join(', ')}, period_start, period_end, ${COPIED.join(', ')}, document_id, valid_from, valid_to)
       SELECT ${KEY_COLUMNS.map((c) => `p.${c}`).join(', ')}, v.period_start, v.period_end, ${COPIED.map((c) => `p.${c}`).join(', ')}, p.document_id,
              date_trunc('milliseconds', p.published_at), v.valid_to
       FROM unnest($1::bigint[], $2::timestamptz[], $3::date[], $4::date[]) WITH ORDINALITY AS v(publication_id, valid_to, period_start, period_end, i)
            JOIN core.publication p ON p.id = v.publication_id
       ORDER BY v.i`,
      [inserts.map((vintage) => vintage.publication.id), inserts.map((vintage) => vintage.validTo), ranges.map((range) => range.start),
        ranges.map((range) => range.end)],
    );
    if (rowCount !== inserts.length) throw new Error(`storeDocuments: ${inserts.length} vintages to insert, ${rowCount ?? 0} inserted`);
  }
}

export interface DocumentRecords {
  observations: ObservationRecord[];
  news: NewsItemRecord[];
  targetMentions: TargetMentionRecord[];
  rejects: RejectRecord[];
}

/**
 * Bump when storing or the derivation of vintages changes what a document's records become in the
 * database: the digest then differs, and the next reprocess stores every document again.
 */
export const STORE_VERSION = 1;

/**
 * The digest of a document's reading: its records in the parser's order, when they take effect and
 * the parser and storage versions. Equal to the digest stored with the rows, storing would change
 * nothing: the document's own rows are what it says, and the vintages of its keys were derived
 * with them by the last store that touched each key (every store re-derives the keys it touches).
 */
export function recordsDigest(records: DocumentRecords, ctx: Pick<StoreContext, 'validFrom' | 'publishedAt' | 'parserVersion' | 'url'>): string {
  return createHash('sha256')
    .update(JSON.stringify([STORE_VERSION, ctx.parserVersion, ctx.url, ctx.validFrom.toISOString(), ctx.publishedAt?.toISOString() ?? null, records]))
    .digest('hex');
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
  if (new Set(batch.map((item) => item.ctx.documentId)).size !== batch.length) throw new Error('storeDocuments: a document appears twice in one batch');
  // In document order: rows of their own (news items by URL) are then written in the same order by
  // every batch, whichever replica runs it.
  const items = [...batch].sort((a, b) => a.ctx.documentId - b.ctx.documentId);
  const outcomes: MutableOutcome[] = items.map(() => ({
    counts: { inserted: 0, revised: 0, unchanged: 0, removed: 0, news: 0, targetMentions: 0, rejects: 0 },
    changedKeys: new Set<string>(),
    touchedKeys: new Set<string>(),
  }));
  // The documents first, in one order (their keys are only known once their stored rows are read):
  // a duplicate job of one of them, here or in another replica, waits, and sees this one's rows.
  await client.query({ name: 'nst-lock-documents', text: LOCK_IN_ORDER, values: [items.map((item) => `document|${item.ctx.documentId}`)] });
  // Whether each document already has mentions or rejects (null: not known, looked up when needed).
  const existingRows: ExistingRows[] = items.map(() => ({ mentions: null, rejects: null }));
  await storeObservations(client, items, outcomes, existingRows, outcomes.map((outcome) => outcome.touchedKeys));

  for (const [i, { records, ctx }] of items.entries()) {
    for (const item of records.news) {
      await client.query(
        `INSERT INTO core.news_item (document_id, url, title, lang, published_at, districts, industries, areas, summary, parser_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (url) DO UPDATE SET document_id = EXCLUDED.document_id, title = EXCLUDED.title, lang = EXCLUDED.lang,
           published_at = EXCLUDED.published_at, districts = EXCLUDED.districts, industries = EXCLUDED.industries,
           areas = EXCLUDED.areas, summary = EXCLUDED.summary, parser_version = EXCLUDED.parser_version
         WHERE (core.news_item.document_id, core.news_item.title, core.news_item.lang, core.news_item.published_at,
                core.news_item.districts, core.news_item.industries, core.news_item.areas, core.news_item.summary, core.news_item.parser_version)
           IS DISTINCT FROM (EXCLUDED.document_id, EXCLUDED.title, EXCLUDED.lang, EXCLUDED.published_at, EXCLUDED.districts,
                EXCLUDED.industries, EXCLUDED.areas, EXCLUDED.summary, EXCLUDED.parser_version)`,
        [ctx.documentId, ctx.url, item.title, item.lang, item.publishedAt ?? null, item.districts, item.industries, item.areas, item.summary ?? null, ctx.parserVersion],
      );
      outcomes[i]!.counts.news += 1;
    }
  }

  // Mentions and rejects belong to their document: made equal to this reading, touching only what differs.
  await syncDocumentRows(client, 'core.target_mention', MENTION_COLUMNS, items.map(({ records, ctx }, i) => {
    const mentions = new Map<string, TargetMentionRecord>();
    for (const mention of records.targetMentions) if (!mentions.has(mention.locator)) mentions.set(mention.locator, mention);
    outcomes[i]!.counts.targetMentions = mentions.size;
    return { documentId: ctx.documentId, hasRows: existingRows[i]!.mentions, rows: [...mentions.values()].map((m) => mentionRow(m, ctx)) };
  }));
  await syncDocumentRows(client, 'core.reject', REJECT_COLUMNS, items.map(({ records, ctx }, i) => {
    outcomes[i]!.counts.rejects = records.rejects.length;
    return { documentId: ctx.documentId, hasRows: existingRows[i]!.rejects, rows: records.rejects.map((r) => rejectRow(r, ctx)) };
  }));
  // The stated publication time and the mark of the parser version, in one statement: a replay
  // leaves the rows as they were. Not prepared: a join with array parameters.
  await client.query(
    `UPDATE raw.document d
     SET published_at = coalesce(v.published_at, d.published_at),
         normalized_at = CASE WHEN d.normalized_at IS NULL OR d.parser_version IS DISTINCT FROM v.parser_version THEN now() ELSE d.normalized_at END,
         parser_version = v.parser_version, records_digest = v.records_digest
     FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS v(id, parser_version, published_at, records_digest)
     WHERE d.id = v.id AND (d.normalized_at IS NULL OR d.parser_version IS DISTINCT FROM v.parser_version
                            OR d.published_at IS DISTINCT FROM coalesce(v.published_at, d.published_at) OR d.records_digest IS DISTINCT FROM v.records_digest)`,
    [items.map((item) => item.ctx.documentId), items.map((item) => item.ctx.parserVersion), items.map((item) => item.ctx.publishedAt ?? null),
      items.map((item) => item.ctx.recordsDigest ?? null)],
  );
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
async function syncDocumentRows(client: PoolClient, table: string, columns: readonly string[], documents: readonly WantedRows[]): Promise<void> {
  const list = columns.join(', ');
  const lookup = documents.filter((d) => d.hasRows !== false).map((d) => d.documentId);
  const { rows } = lookup.length === 0 ? { rows: [] }
    : await client.query<{ id: number; document_id: number; key: string }>(
      `SELECT id, document_id, json_build_array(${list})::text AS key FROM ${table} WHERE document_id = ANY($1::bigint[])`, [lookup]);
  // Stored rows by document, then by their key as PostgreSQL renders it.
  const existing = new Map<number, Map<string, number[]>>();
  for (const row of rows) {
    const byKey = existing.get(row.document_id) ?? new Map<string, number[]>();
    byKey.set(row.key, [...(byKey.get(row.key) ?? []), row.id]);
    existing.set(row.document_id, byKey);
  }
  // The wanted rows of documents that have rows, rendered by PostgreSQL exactly as the stored ones are.
  const compared = documents.filter((d) => existing.has(d.documentId) && d.rows.length > 0);
  const keys = await renderKeys(client, columns, compared.flatMap((d) => d.rows));
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
  if (stale.length > 0) await client.query(`DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, [stale]);
  // Chunks keep each statement far below PostgreSQL's 65535-parameter limit.
  for (let i = 0; i < missing.length; i += 1000) {
    const { sql, params } = valuesList(missing.slice(i, i + 1000));
    await client.query(`INSERT INTO ${table} (document_id, ${list}) VALUES ${sql}`, params);
  }
}

/** `json_build_array(…)::text` of each row of values, in order, as PostgreSQL renders the stored rows. */
async function renderKeys(client: PoolClient, columns: readonly string[], rows: ReadonlyArray<readonly unknown[]>): Promise<string[]> {
  const keys: string[] = [];
  const names = columns.map((_c, i) => `c${i}`);
  for (let start = 0; start < rows.length; start += 1000) {
    const params: unknown[] = [];
    const tuples = rows.slice(start, start + 1000).map((values, i) => {
      const cells = [`$${params.push(i)}::int`];
      values.forEach((value, j) => cells.push(`$${params.push(value)}::${COLUMN_TYPES[columns[j]!] ?? 'text'}`));
      return `(${cells.join(', ')})`;
    });
    const { rows: rendered } = await client.query<{ key: string }>(
      `SELECT json_build_array(${names.join(', ')})::text AS key FROM (VALUES ${tuples.join(', ')}) AS v(i, ${names.join(', ')}) ORDER BY i`,
      params,
    );
    keys.push(...rendered.map((row) => row.key));
  }
  return keys;
}

const COLUMN_TYPES: Record<string, string> = {
  value: 'numeric', unit_mult: 'smallint', target_year: 'integer', raw: 'jsonb',
};

/** Make the rejects of a document equal `rejects` (when the whole document is unreadable). */
export async function replaceRejects(client: PoolClient, rejects: readonly RejectRecord[], ctx: Pick<StoreContext, 'documentId' | 'sourceKey' | 'parserVersion'>): Promise<void> {
  await syncDocumentRows(client, 'core.reject', REJECT_COLUMNS, [{ documentId: ctx.documentId, hasRows: null, rows: rejects.map((r) => rejectRow(r, ctx)) }]);
}
