/**
 * Store one document's records in one transaction: observations as vintages, news items, target
 * mentions and rejects. Storing the same records again changes nothing; a changed figure closes
 * the open vintage and opens a new one; records the document no longer yields (after a parser
 * fix) are removed and their neighbours' validity repaired. Everything a document produced
 * carries its id, so re-normalizing it replaces exactly what it produced before.
 */
import type { PoolClient } from '@nst/shared/db';
import { periodRange } from '@nst/shared/domain';
import type { NewsItemRecord, ObservationRecord, RejectRecord, TargetMentionRecord } from '../records';

export interface StoreContext {
  documentId: number;
  sourceKey: string;
  url: string;
  /** Start of validity of this document's figures: its publication time, else its fetch time. */
  validFrom: Date;
  parserVersion: string;
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

/** `1725.00` and `1725` are the same figure; the published string is kept in raw_value. */
export function canonicalDecimal(value: string): string {
  const negative = value.startsWith('-');
  let [whole = '0', fraction = ''] = value.replace(/^-/, '').split('.');
  whole = whole.replace(/^0+(?=\d)/, '');
  fraction = fraction.replace(/0+$/, '');
  const text = fraction ? `${whole}.${fraction}` : whole;
  return negative && text !== '0' ? `-${text}` : text;
}

const keyOf = (r: Pick<ObservationRecord, 'district' | 'indicator' | 'measure' | 'accumulation' | 'period'>) =>
  `${r.district}|${r.indicator}|${r.measure}|${r.accumulation}|${r.period}`;

interface VintageRow {
  id: number;
  value: string;
  status: string;
  valid_from: Date;
  valid_to: Date | null;
  document_id: number;
}

async function upsertObservation(client: PoolClient, record: ObservationRecord, ctx: StoreContext): Promise<'inserted' | 'revised' | 'unchanged'> {
  const { rows } = await client.query<VintageRow>(
    `SELECT id, value::text AS value, status, valid_from, valid_to, document_id FROM core.observation
     WHERE district = $1 AND indicator = $2 AND measure = $3 AND accumulation = $4 AND period = $5
     ORDER BY valid_from`,
    [record.district, record.indicator, record.measure, record.accumulation, record.period],
  );
  const at = ctx.validFrom.getTime();
  const same = (row: VintageRow) => canonicalDecimal(row.value) === canonicalDecimal(record.value);
  const provenance = [record.value, record.rawValue, record.unit, record.unitMult, record.status, record.basis, ctx.documentId, ctx.url, record.locator, ctx.parserVersion];

  const exact = rows.find((row) => row.valid_from.getTime() === at);
  if (exact) {
    if (same(exact)) return 'unchanged';
    if (record.status === 'news' && exact.status !== 'news') return 'unchanged';
    // Same publication time, different figure: the document was re-parsed (a parser fix) or two
    // documents of one date disagree. The vintage holds the latest reading.
    await client.query(
      `UPDATE core.observation SET value = $2, raw_value = $3, unit = $4, unit_mult = $5, status = $6, basis = $7,
              document_id = $8, url = $9, locator = $10, parser_version = $11, recorded_at = now()
       WHERE id = $1`,
      [exact.id, ...provenance],
    );
    return 'revised';
  }
  const previous = rows.filter((row) => row.valid_from.getTime() < at).at(-1);
  const next = rows.find((row) => row.valid_from.getTime() > at);
  // A figure quoted in the news never revises a published statistic: it only stands in until one
  // is published (and is superseded by it, like any earlier vintage).
  if (record.status === 'news' && previous && previous.status !== 'news') return 'unchanged';
  // Published again with the same figure: no new vintage (ALFRED keeps the first publication).
  if (previous && same(previous)) return 'unchanged';
  if (next && same(next)) {
    // An earlier publication of the figure we already hold (documents normalized out of order):
    // the vintage starts at the earlier one.
    if (previous) await client.query('UPDATE core.observation SET valid_to = $2 WHERE id = $1', [previous.id, ctx.validFrom]);
    await client.query(
      `UPDATE core.observation SET valid_from = $2, raw_value = $3, document_id = $4, url = $5, locator = $6, parser_version = $7, recorded_at = now()
       WHERE id = $1`,
      [next.id, ctx.validFrom, record.rawValue, ctx.documentId, ctx.url, record.locator, ctx.parserVersion],
    );
    return 'revised';
  }
  // A new figure: close the vintage in force (if any), open one until the next known vintage.
  if (previous) await client.query('UPDATE core.observation SET valid_to = $2 WHERE id = $1', [previous.id, ctx.validFrom]);
  const range = periodRange(record.period, record.accumulation);
  await client.query(
    `INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end,
        value, raw_value, unit, unit_mult, status, basis, document_id, url, locator, parser_version, valid_from, valid_to)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
    [record.district, record.indicator, record.measure, record.accumulation, record.period, range.start, range.end,
      ...provenance, ctx.validFrom, next?.valid_from ?? null],
  );
  return previous ? 'revised' : 'inserted';
}

/** Remove the vintages this document produced before but no longer does, mending the timeline. */
async function removeStaleObservations(client: PoolClient, keep: ReadonlySet<string>, ctx: StoreContext): Promise<number> {
  const { rows } = await client.query<VintageRow & { district: string; indicator: string; measure: string; accumulation: string; period: string }>(
    `SELECT id, district, indicator, measure, accumulation, period, value::text AS value, valid_from, valid_to, document_id
     FROM core.observation WHERE document_id = $1`,
    [ctx.documentId],
  );
  let removed = 0;
  for (const row of rows) {
    if (keep.has(keyOf(row as unknown as ObservationRecord))) continue;
    await client.query('DELETE FROM core.observation WHERE id = $1', [row.id]);
    // The vintage before it now lasts as long as the removed one did.
    await client.query(
      `UPDATE core.observation SET valid_to = $6
       WHERE district = $1 AND indicator = $2 AND measure = $3 AND accumulation = $4 AND period = $5 AND valid_to = $7`,
      [row.district, row.indicator, row.measure, row.accumulation, row.period, row.valid_to, row.valid_from],
    );
    removed += 1;
  }
  return removed;
}

export interface DocumentRecords {
  observations: ObservationRecord[];
  news: NewsItemRecord[];
  targetMentions: TargetMentionRecord[];
  rejects: RejectRecord[];
}

export async function storeRecords(client: PoolClient, records: DocumentRecords, ctx: StoreContext): Promise<StoreCounts> {
  const counts: StoreCounts = { inserted: 0, revised: 0, unchanged: 0, removed: 0, news: 0, targetMentions: 0, rejects: 0 };
  // One figure per key per document: a page that prints a figure twice keeps the first reading.
  const unique = new Map<string, ObservationRecord>();
  for (const record of records.observations) if (!unique.has(keyOf(record))) unique.set(keyOf(record), record);
  // Locks in key order: two documents touching the same keys never deadlock, and never interleave.
  const keys = [...unique.keys()].sort();
  for (const key of keys) {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7270))', [key]);
  }
  for (const key of keys) counts[await upsertObservation(client, unique.get(key)!, ctx)] += 1;
  counts.removed = await removeStaleObservations(client, new Set(keys), ctx);

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
    [...mentions.values()].map((m) => [m.scope, m.indicator ?? null, m.value ?? null, m.unit ?? null, m.unitMult ?? null, m.targetYear ?? null, m.rawText, m.locator, ctx.parserVersion]));
  await replaceRejects(client, records.rejects, ctx);
  counts.rejects = records.rejects.length;
  // Marked once per parser version: a replay leaves the row as it was.
  await client.query(
    'UPDATE raw.document SET normalized_at = now(), parser_version = $2 WHERE id = $1 AND (normalized_at IS NULL OR parser_version IS DISTINCT FROM $2)',
    [ctx.documentId, ctx.parserVersion],
  );
  return counts;
}

/**
 * Make the rows of `table` belonging to a document equal `wanted` (each a list of values for
 * `columns`): delete the rows no longer wanted, insert the missing ones, leave equal rows alone.
 * Returns the number of wanted rows.
 */
async function syncDocumentRows(client: PoolClient, table: string, documentId: number, columns: readonly string[], wanted: ReadonlyArray<readonly unknown[]>): Promise<number> {
  const list = columns.join(', ');
  const { rows } = await client.query(`SELECT id, json_build_array(${list})::text AS key FROM ${table} WHERE document_id = $1`, [documentId]);
  const keyOf = async (values: readonly unknown[]) =>
    (await client.query(`SELECT json_build_array(${columns.map((_c, i) => `$${i + 1}::${COLUMN_TYPES[columns[i]!] ?? 'text'}`).join(', ')})::text AS key`, [...values])).rows[0].key as string;
  const existing = new Map<string, number[]>();
  for (const row of rows) existing.set(row.key, [...(existing.get(row.key) ?? []), row.id]);
  for (const values of wanted) {
    const key = await keyOf(values);
    const ids = existing.get(key);
    if (ids && ids.length > 0) {
      ids.pop();
      continue;
    }
    await client.query(
      `INSERT INTO ${table} (document_id, ${list}) VALUES ($1, ${columns.map((_c, i) => `$${i + 2}`).join(', ')})`,
      [documentId, ...values],
    );
  }
  const stale = [...existing.values()].flat();
  if (stale.length > 0) await client.query(`DELETE FROM ${table} WHERE id = ANY($1::bigint[])`, [stale]);
  return wanted.length;
}

const COLUMN_TYPES: Record<string, string> = {
  value: 'numeric', unit_mult: 'smallint', target_year: 'integer', raw: 'jsonb',
};

/** Make the rejects of a document equal `rejects` (also used when the whole document is unreadable). */
export async function replaceRejects(client: PoolClient, rejects: readonly RejectRecord[], ctx: Pick<StoreContext, 'documentId' | 'sourceKey' | 'parserVersion'>): Promise<void> {
  await syncDocumentRows(client, 'core.reject', ctx.documentId, ['source_key', 'reason', 'detail', 'locator', 'raw', 'parser_version'],
    rejects.map((r) => [ctx.sourceKey, r.reason, r.detail, r.locator, r.raw === undefined ? null : JSON.stringify(r.raw), ctx.parserVersion]));
}
