import type { Pool } from '@nst/shared/db';

/** One target with the snapshot in force (latest, or at an instant); snapshot columns are null when there is none. */
export interface ProgressRow {
  release: string;
  target_key: string;
  scope: string;
  indicator: string;
  kind: string;
  target_value: string | null;
  unit: string;
  unit_mult: number;
  base_year: number;
  target_year: number;
  description_zh: string;
  description_en: string;
  target_source: string;
  actual_value: string | null;
  actual_period: string | null;
  actual_accumulation: string | null;
  partial: boolean | null;
  actual_status: string | null;
  base_value: string | null;
  progress_pct: string | null;
  gap: string | null;
  cagr_realised_pct: string | null;
  cagr_required_pct: string | null;
  projected_value: string | null;
  status: string | null;
  detail: Record<string, unknown> | null;
  known_from: Date | null;
  known_to: Date | null;
  computed_at: Date | null;
  inputs: Array<Record<string, unknown> & { document_id: number | null }>;
}

export interface SelectProgressOptions {
  /** The instant of knowledge; default: now (agg.latest_progress). */
  asOf?: Date;
  /** Only this plan release. */
  release?: string;
}

/**
 * Every target joined with its snapshot. Each input of a snapshot (an observation vintage) gets the
 * id of the document it came from, so every number links to its archived source.
 */
export async function selectProgress(pool: Pool, options: SelectProgressOptions = {}): Promise<ProgressRow[]> {
  const snapshots = options.asOf ? 'agg.progress_as_of($2::timestamptz)' : 'agg.latest_progress';
  const { rows } = await pool.query<ProgressRow>(
    `SELECT t.release, t.key AS target_key, t.scope, t.indicator, t.kind, t.value::text AS target_value,
            t.unit, t.unit_mult, t.base_year, t.target_year, t.description_zh, t.description_en, t.source AS target_source,
            p.actual_value::text, p.actual_period, p.actual_accumulation, p.partial, p.actual_status,
            p.base_value::text, p.progress_pct::text, p.gap::text, p.cagr_realised_pct::text,
            p.cagr_required_pct::text, p.projected_value::text, p.status, p.detail,
            p.known_from, p.known_to, p.computed_at,
            coalesce((
              SELECT jsonb_agg(i.input || jsonb_build_object('document_id', s.document_id) ORDER BY i.n)
              FROM jsonb_array_elements(p.inputs) WITH ORDINALITY AS i(input, n)
              LEFT JOIN agg.observation_source s ON s.observation_id = (i.input->>'id')::bigint
            ), '[]'::jsonb) AS inputs
     FROM agg.target t
     LEFT JOIN ${snapshots} p ON p.release = t.release AND p.target_key = t.key
     WHERE ($1::text IS NULL OR t.release = $1)
     ORDER BY t.release, (t.kind = 'tracked'), t.scope <> 'north_south', t.key`,
    options.asOf ? [options.release ?? null, options.asOf] : [options.release ?? null],
  );
  return rows;
}
