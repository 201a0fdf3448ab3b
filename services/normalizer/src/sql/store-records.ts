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

interface PublicationRow extends Publication {
  key: string;
  raw_value: string;
  unit: string;
  unit_mult: number;
  basis: string;
  locator: string;
  parser_version: string;
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

/** A row of the combined read: a publication ('p') or a stored vintage ('o') of a key. */
interface StateRow extends Omit<PublishedRow, 'published_at'> {
  kind: 'p' | 'o';
  id: number;
  /** published_at of a publication, valid_from of a vintage. */
  t1: Date;
  /** valid_to of a vintage. */
  t2: Date | null;
  document_id: number;
  has_mentions: boolean;
  has_rejects: boolean;
}

/** Whether the document already has rows of its own in these tables (null: not looked up). */
interface ExistingRows {
  mentions: boolean | null;
  rejects: boolean | null;
}

interface ObservationRow {
  id: number;
  key: string;
  value: string;
  valid_from: Date;
  valid_to: Date | null;
  document_id: number;
  raw_value: string;
  status: string;
  basis: string;
  unit: string;
  unit_mult: number;
  locator: string;
  parser_version: string;
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

const KEY_JOIN = `JOIN unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS k(district, indicator, measure, accumulation, period)
  USING (district, indicator, measure, accumulation, period)`;

/**
 * Record this document's publications, then re-derive the vintages of every key it touches (now
 * or before) from all publications of that key, and make core.observation equal to them,
 * touching only rows that differ.
 */
async function storeObservations(client: PoolClient, records: readonly ObservationRecord[], ctx: StoreContext, counts: StoreCounts, existingRows: ExistingRows,
  changedKeys: Set<string>): Promise<void> {
  // One figure per key per document: a page that prints a figure twice keeps the first reading.
  const unique = new Map<string, ObservationRecord>();
  for (const record of records) if (!unique.has(keyOf(record))) unique.set(keyOf(record), record);
  // What this document published at its last store: its keys, and the rows to compare with (an
  // unchanged figure is not written again; ON CONFLICT DO UPDATE locks, and so writes, every row
  // it meets even when its WHERE then skips the update).
  const before = await client.query<PublishedRow>({
    name: 'nst-publications-of-document',
    text: `SELECT concat_ws('|', district, indicator, measure, accumulation, period) AS key, value::text AS value, raw_value, unit, unit_mult, status, basis,
                  published_at, url, locator, parser_version
           FROM core.publication WHERE document_id = $1`,
    values: [ctx.documentId],
  });
  const keys = [...new Set([...unique.keys(), ...before.rows.map((r) => r.key)])].sort();
  if (keys.length === 0) return;
  // Locks in key order: two documents touching the same keys never deadlock, and never interleave.
  await client.query({
    name: 'nst-lock-observation-keys',
    text: 'SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 7270) AS h FROM unnest($1::text[]) AS k ORDER BY k) locks',
    values: [keys],
  });

  const gone = keys.filter((key) => !unique.has(key));
  if (gone.length > 0) {
    await client.query(`DELETE FROM core.publication p USING unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS k(district, indicator, measure, accumulation, period)
      WHERE p.document_id = $1 AND (p.district, p.indicator, p.measure, p.accumulation, p.period) = (k.district, k.indicator, k.measure, k.accumulation, k.period)`,
      [ctx.documentId, ...keyArrays(gone)]);
  }
  const published = new Map(before.rows.map((row) => [row.key, row]));
  const changed = [...unique.entries()].filter(([key, r]) => !samePublication(published.get(key), r, ctx)).map(([, r]) => r);
  if (changed.length > 0) {
    const column = <T>(pick: (r: ObservationRecord) => T) => changed.map(pick);
    // Parallel arrays through unnest: one statement text whatever the row count, so PostgreSQL
    // plans it once per connection (a VALUES list of n rows is a new statement for every n).
    await client.query({
      name: 'nst-upsert-publications',
      text: `INSERT INTO core.publication (district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis,
                                     published_at, document_id, url, locator, parser_version)
       SELECT district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, $12, $13, $14, locator, $15
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[], $7::text[], $8::text[], $9::smallint[], $10::text[],
                   $11::text[], $16::text[])
            AS r(district, indicator, measure, accumulation, period, value, raw_value, unit, unit_mult, status, basis, locator)
       ON CONFLICT (document_id, district, indicator, measure, accumulation, period) DO UPDATE SET
         value = EXCLUDED.value, raw_value = EXCLUDED.raw_value, unit = EXCLUDED.unit, unit_mult = EXCLUDED.unit_mult, status = EXCLUDED.status,
         basis = EXCLUDED.basis, published_at = EXCLUDED.published_at, url = EXCLUDED.url, locator = EXCLUDED.locator, parser_version = EXCLUDED.parser_version
       WHERE (core.publication.value, core.publication.raw_value, core.publication.unit, core.publication.unit_mult, core.publication.status,
              core.publication.basis, core.publication.published_at, core.publication.url, core.publication.locator, core.publication.parser_version)
         IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.raw_value, EXCLUDED.unit, EXCLUDED.unit_mult, EXCLUDED.status, EXCLUDED.basis,
              EXCLUDED.published_at, EXCLUDED.url, EXCLUDED.locator, EXCLUDED.parser_version)`,
      values: [column((r) => r.district), column((r) => r.indicator), column((r) => r.measure), column((r) => r.accumulation), column((r) => r.period),
        column((r) => r.value), column((r) => r.rawValue), column((r) => r.unit), column((r) => r.unitMult), column((r) => r.status), column((r) => r.basis),
        ctx.validFrom, ctx.documentId, ctx.url, ctx.parserVersion, column((r) => r.locator)],
    });
  }

  // Publications and vintages of the keys, and whether the document already has mentions or
  // rejects, in one round trip: one row layout for both kinds (t1/t2: published_at, or valid_from
  // and valid_to). Read after the key locks, so a concurrent store of the same document has
  // committed or not begun. Not prepared (no `name`): a generic plan for a join with an array
  // parameter knows nothing of its length and scans the whole table; a custom plan uses the key index.
  const { rows: stateRows } = await client.query<StateRow>({
    text: `WITH flags AS MATERIALIZED (
       SELECT EXISTS (SELECT 1 FROM core.target_mention WHERE document_id = $6) AS has_mentions,
              EXISTS (SELECT 1 FROM core.reject WHERE document_id = $6) AS has_rejects)
     SELECT 'p' AS kind, p.id, concat_ws('|', p.district, p.indicator, p.measure, p.accumulation, p.period) AS key, p.value::text AS value, p.raw_value,
            p.unit, p.unit_mult, p.status, p.basis, p.published_at AS t1, NULL::timestamptz AS t2, p.document_id, p.url, p.locator, p.parser_version,
            f.has_mentions, f.has_rejects
     FROM core.publication p ${KEY_JOIN} CROSS JOIN flags f
     UNION ALL
     SELECT 'o', o.id, concat_ws('|', o.district, o.indicator, o.measure, o.accumulation, o.period), o.value::text, o.raw_value,
            o.unit, o.unit_mult, o.status, o.basis, o.valid_from, o.valid_to, o.document_id, o.url, o.locator, o.parser_version,
            f.has_mentions, f.has_rejects
     FROM core.observation o ${KEY_JOIN} CROSS JOIN flags f`,
    values: [...keyArrays(keys), ctx.documentId],
  });
  // No row at all (every key gone, none published elsewhere): the flags stay unknown (looked up later).
  if (stateRows[0]) {
    existingRows.mentions = stateRows[0].has_mentions;
    existingRows.rejects = stateRows[0].has_rejects;
  }
  const pubsByKey = new Map<string, PublicationRow[]>();
  const existing: ObservationRow[] = [];
  for (const r of stateRows) {
    if (r.kind === 'p') {
      const list = pubsByKey.get(r.key) ?? [];
      list.push({ id: r.id, key: r.key, value: r.value, raw_value: r.raw_value, unit: r.unit, unit_mult: r.unit_mult, status: r.status, basis: r.basis,
        publishedAt: r.t1, documentId: r.document_id, url: r.url, locator: r.locator, parser_version: r.parser_version });
      pubsByKey.set(r.key, list);
    } else {
      existing.push({ id: r.id, key: r.key, value: r.value, valid_from: r.t1, valid_to: r.t2, document_id: r.document_id, raw_value: r.raw_value, status: r.status,
        basis: r.basis, unit: r.unit, unit_mult: r.unit_mult, locator: r.locator, parser_version: r.parser_version });
    }
  }
  const rowsByKey = new Map<string, ObservationRow[]>();
  for (const row of existing) rowsByKey.set(row.key, [...(rowsByKey.get(row.key) ?? []), row]);

  const deletes: number[] = [];
  const updates: Array<{ id: number; row: ObservationRow; vintage: DerivedVintage<PublicationRow> }> = [];
  const inserts: Array<DerivedVintage<PublicationRow>> = [];
  for (const key of keys) {
    const updatesBefore = updates.length;
    const current = rowsByKey.get(key) ?? [];
    const wanted = deriveVintages(pubsByKey.get(key) ?? []);
    const byIdentity = new Map(current.map((row) => [`${row.valid_from.getTime()}|${row.document_id}`, row]));
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
      const same = (row.valid_to?.getTime() ?? null) === (vintage.validTo?.getTime() ?? null) && row.value === p.value && row.raw_value === p.raw_value &&
        row.status === p.status && row.basis === p.basis && row.unit === p.unit && row.unit_mult === p.unit_mult && row.locator === p.locator &&
        row.parser_version === p.parser_version;
      if (same) counts.unchanged += 1;
      else {
        updates.push({ id: row.id, row, vintage });
        if (row.value !== p.value) counts.revised += 1;
      }
    }
    for (const row of byIdentity.values()) deletes.push(row.id);
    counts.removed += byIdentity.size;
    if (added > 0 || byIdentity.size > 0 || updates.length > updatesBefore) changedKeys.add(key);
    if (current.length === 0) counts.inserted += added;
    else counts.revised += added;
  }

  if (deletes.length > 0) await client.query('DELETE FROM core.observation WHERE id = ANY($1::bigint[])', [deletes]);
  // Closings before openings: at most one open vintage per key at every step (the unique index
  // is checked row by row, so the two kinds are two statements, not one).
  const closings = updates.filter((u) => u.vintage.validTo !== null);
  const openings = updates.filter((u) => u.vintage.validTo === null);
  for (const group of [closings, openings]) {
    if (group.length === 0) continue;
    const column = <T>(pick: (u: (typeof group)[number]) => T) => group.map(pick);
    // Not prepared either: a join with an array parameter (see the reads above).
    await client.query({
      text: `UPDATE core.observation o SET valid_to = v.valid_to, value = v.value, raw_value = v.raw_value, status = v.status, basis = v.basis, unit = v.unit,
                unit_mult = v.unit_mult, locator = v.locator, parser_version = v.parser_version, url = v.url, recorded_at = now()
         FROM unnest($1::bigint[], $2::timestamptz[], $3::numeric[], $4::text[], $5::text[], $6::text[], $7::text[], $8::smallint[], $9::text[], $10::text[], $11::text[])
              AS v(id, valid_to, value, raw_value, status, basis, unit, unit_mult, locator, parser_version, url)
         WHERE o.id = v.id`,
      values: [column((u) => u.id), column((u) => u.vintage.validTo), column((u) => u.vintage.publication.value), column((u) => u.vintage.publication.raw_value),
        column((u) => u.vintage.publication.status), column((u) => u.vintage.publication.basis), column((u) => u.vintage.publication.unit),
        column((u) => u.vintage.publication.unit_mult), column((u) => u.vintage.publication.locator), column((u) => u.vintage.publication.parser_version),
        column((u) => u.vintage.publication.url)],
    });
  }
  if (inserts.length > 0) {
    const rows = inserts.map((vintage) => {
      const p = vintage.publication;
      const k = splitKey(p.key);
      const range = periodRange(k.period, k.accumulation as 'period' | 'ytd');
      return { k, range, p, vintage };
    });
    const column = <T>(pick: (r: (typeof rows)[number]) => T) => rows.map(pick);
    await client.query({
      name: 'nst-insert-observations',
      text: `INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult,
                                     status, basis, document_id, url, locator, parser_version, valid_from, valid_to)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::date[], $8::numeric[], $9::text[], $10::text[],
                            $11::smallint[], $12::text[], $13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[], $18::timestamptz[], $19::timestamptz[])`,
      values: [column((r) => r.k.district), column((r) => r.k.indicator), column((r) => r.k.measure), column((r) => r.k.accumulation), column((r) => r.k.period),
        column((r) => r.range.start), column((r) => r.range.end), column((r) => r.p.value), column((r) => r.p.raw_value), column((r) => r.p.unit),
        column((r) => r.p.unit_mult), column((r) => r.p.status), column((r) => r.p.basis), column((r) => r.p.documentId), column((r) => r.p.url),
        column((r) => r.p.locator), column((r) => r.p.parser_version), column((r) => r.vintage.validFrom), column((r) => r.vintage.validTo)],
    });
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
  counts: StoreCounts;
  /** `district|indicator|measure|accumulation|period` of every key with a vintage inserted, updated or deleted. */
  changedKeys: ReadonlySet<string>;
}

export async function storeRecords(client: PoolClient, records: DocumentRecords, ctx: StoreContext): Promise<StoreOutcome> {
  const counts: StoreCounts = { inserted: 0, revised: 0, unchanged: 0, removed: 0, news: 0, targetMentions: 0, rejects: 0 };
  const existingRows: ExistingRows = { mentions: null, rejects: null };
  const changedKeys = new Set<string>();
  await storeObservations(client, records.observations, ctx, counts, existingRows, changedKeys);

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
    counts.news += 1;
  }

  // Mentions and rejects belong to the document: made equal to this reading, touching only what differs.
  const mentions = new Map<string, TargetMentionRecord>();
  for (const mention of records.targetMentions) if (!mentions.has(mention.locator)) mentions.set(mention.locator, mention);
  counts.targetMentions = await syncDocumentRows(client, 'core.target_mention', ctx.documentId,
    ['scope', 'indicator', 'value', 'unit', 'unit_mult', 'target_year', 'raw_text', 'locator', 'parser_version'],
    [...mentions.values()].map((m) => [m.scope, m.indicator ?? null, m.value ?? null, m.unit ?? null, m.unitMult ?? null, m.targetYear ?? null, m.rawText, m.locator, ctx.parserVersion]),
    existingRows.mentions);
  await replaceRejects(client, records.rejects, ctx, existingRows.rejects);
  counts.rejects = records.rejects.length;
  // The stated publication time and the mark of the parser version, in one statement: a replay
  // leaves the row as it was.
  await client.query(
    `UPDATE raw.document
     SET published_at = coalesce($3, published_at),
         normalized_at = CASE WHEN normalized_at IS NULL OR parser_version IS DISTINCT FROM $2 THEN now() ELSE normalized_at END,
         parser_version = $2, records_digest = $4
     WHERE id = $1 AND (normalized_at IS NULL OR parser_version IS DISTINCT FROM $2 OR published_at IS DISTINCT FROM coalesce($3, published_at)
                        OR records_digest IS DISTINCT FROM $4)`,
    [ctx.documentId, ctx.parserVersion, ctx.publishedAt ?? null, ctx.recordsDigest ?? null],
  );
  return { counts, changedKeys };
}

/**
 * Make the rows of `table` belonging to a document equal `wanted` (each a list of values for
 * `columns`): delete the rows no longer wanted, insert the missing ones, leave equal rows alone.
 * Returns the number of wanted rows.
 */
async function syncDocumentRows(client: PoolClient, table: string, documentId: number, columns: readonly string[], wanted: ReadonlyArray<readonly unknown[]>,
  hasRows: boolean | null = null): Promise<number> {
  const list = columns.join(', ');
  // `hasRows` false: the caller saw none under the same locks, so there is nothing to compare with.
  const { rows } = hasRows === false ? { rows: [] } : await client.query(`SELECT id, json_build_array(${list})::text AS key FROM ${table} WHERE document_id = $1`, [documentId]);
  const existing = new Map<string, number[]>();
  for (const row of rows) existing.set(row.key, [...(existing.get(row.key) ?? []), row.id]);
  let missing = wanted;
  if (rows.length > 0 && wanted.length > 0) {
    // The wanted rows' keys, rendered by PostgreSQL exactly as the stored ones are, in one round trip.
    const params: unknown[] = [];
    const tuples = wanted.map((values, i) => {
      const cells = [`$${params.push(i)}::int`];
      values.forEach((value, j) => cells.push(`$${params.push(value)}::${COLUMN_TYPES[columns[j]!] ?? 'text'}`));
      return `(${cells.join(', ')})`;
    });
    const names = columns.map((_c, i) => `c${i}`);
    const { rows: keys } = await client.query<{ key: string }>(
      `SELECT json_build_array(${names.join(', ')})::text AS key FROM (VALUES ${tuples.join(', ')}) AS v(i, ${names.join(', ')}) ORDER BY i`,
      params,
    );
    missing = wanted.filter((_values, i) => {
      const ids = existing.get(keys[i]!.key);
      if (!ids || ids.length === 0) return true;
      ids.pop();
      return false;
    });
  }
  // Chunks keep each statement far below PostgreSQL's 65535-parameter limit.
  for (let i = 0; i < missing.length; i += 1000) {
    const { sql, params } = valuesList(missing.slice(i, i + 1000).map((values) => [documentId, ...values]));
    await client.query(`INSERT INTO ${table} (document_id, ${list}) VALUES ${sql}`, params);
  }
  const stale = [...existing.values()].flat();
  if (stale.length > 0) await client.query(`DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, [stale]);
  return wanted.length;
}

const COLUMN_TYPES: Record<string, string> = {
  value: 'numeric', unit_mult: 'smallint', target_year: 'integer', raw: 'jsonb',
};

/** Make the rejects of a document equal `rejects` (also used when the whole document is unreadable). */
export async function replaceRejects(client: PoolClient, rejects: readonly RejectRecord[], ctx: Pick<StoreContext, 'documentId' | 'sourceKey' | 'parserVersion'>,
  hasRows: boolean | null = null): Promise<void> {
  await syncDocumentRows(client, 'core.reject', ctx.documentId, ['source_key', 'reason', 'detail', 'locator', 'raw', 'parser_version'],
    rejects.map((r) => [ctx.sourceKey, r.reason, r.detail, r.locator, r.raw === undefined ? null : JSON.stringify(r.raw), ctx.parserVersion]), hasRows);
}
