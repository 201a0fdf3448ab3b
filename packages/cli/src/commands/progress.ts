import { NstError } from '@nst/shared/errors';
import type { Pool } from '@nst/shared/db';
import type { Register } from '../main';
import { renderTable } from '../table';

export interface ProgressRow {
  release: string;
  target_key: string;
  scope: string;
  indicator: string;
  kind: string;
  description_en: string;
  target_value: string | null;
  unit: string;
  unit_mult: number;
  target_year: number;
  actual_value: string | null;
  actual_period: string | null;
  partial: boolean;
  actual_status: string | null;
  progress_pct: string | null;
  gap: string | null;
  cagr_realised_pct: string | null;
  cagr_required_pct: string | null;
  projected_value: string | null;
  status: string;
  known_from: Date;
}

/** Progress per target: the latest snapshots, or those in force at `asOf`. */
export async function readProgress(pool: Pool, asOf?: Date): Promise<ProgressRow[]> {
  const source = asOf ? 'agg.progress_as_of($1)' : 'agg.latest_progress';
  const { rows } = await pool.query<ProgressRow>(
    `SELECT p.release, p.target_key, p.scope, p.indicator, p.kind, t.description_en, p.target_value::text, p.unit, p.unit_mult,
            p.target_year, p.actual_value::text, p.actual_period, p.partial, p.actual_status, p.progress_pct::text, p.gap::text,
            p.cagr_realised_pct::text, p.cagr_required_pct::text, p.projected_value::text, p.status, p.known_from
     FROM ${source} p JOIN agg.target t ON t.release = p.release AND t.key = p.target_key
     ORDER BY p.release, CASE p.scope WHEN 'north_south' THEN 0 WHEN 'baoshan' THEN 1 WHEN 'jinshan' THEN 2 ELSE 3 END, p.target_key`,
    asOf ? [asOf] : [],
  );
  return rows;
}

const UNIT_LABEL: Record<string, string> = { 'CNY|8': '亿元', 'CNY|4': '万元', 'CNY|0': '元', 'pct|0': '%', 'pct|8': '%', 'pp|0': 'pp' };
const withUnit = (value: string | null, row: ProgressRow) => (value === null ? null : `${value} ${UNIT_LABEL[`${row.unit}|${row.unit_mult}`] ?? row.unit}`);
const pct = (value: string | null) => (value === null ? null : `${value}%`);

export function renderProgress(rows: readonly ProgressRow[], format: 'table' | 'json' | 'csv'): string {
  if (format === 'json') return rows.map((row) => JSON.stringify(row)).join('\n');
  if (format === 'csv') {
    const columns = Object.keys(rows[0] ?? { release: '' }) as Array<keyof ProgressRow>;
    const cell = (value: unknown) => {
      const text = value instanceof Date ? value.toISOString() : value === null || value === undefined ? '' : String(value);
      return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    };
    return [columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\n');
  }
  return renderTable(
    ['target', 'scope', 'target value', 'actual', 'period', 'progress', 'gap', 'CAGR so far', 'CAGR needed', 'projected', 'status'],
    rows.map((row) => [
      row.target_key,
      row.scope,
      row.target_value === null ? (row.kind === 'growth_above_city' ? '> city' : '—') : `${withUnit(row.target_value, row)} by ${row.target_year}`,
      withUnit(row.actual_value, row),
      row.actual_period ? `${row.actual_period}${row.partial ? ' (partial)' : ''}${row.actual_status && row.actual_status !== 'final' ? ` ${row.actual_status}` : ''}` : null,
      pct(row.progress_pct),
      withUnit(row.gap, row),
      pct(row.cagr_realised_pct),
      pct(row.cagr_required_pct),
      withUnit(row.projected_value, row),
      row.status,
    ]),
  );
}

export const registerProgress: Register = (program, context) => {
  program
    .command('progress')
    .description('progress toward each target (agg.latest_progress, or what was known at --as-of)')
    .option('--as-of <date>', 'what was known at this date/time (ISO 8601)')
    .option('--format <format>', 'table | json | csv', 'table')
    .action(async (options: { asOf?: string; format: string }) => {
      if (!['table', 'json', 'csv'].includes(options.format)) throw new NstError('usage', `--format must be table, json or csv (got "${options.format}")`);
      const asOf = options.asOf ? new Date(options.asOf) : undefined;
      if (asOf && Number.isNaN(asOf.getTime())) throw new NstError('usage', `--as-of must be a date, e.g. 2025-06-30 (got "${options.asOf}")`);
      const rows = await readProgress(await context().db(), asOf);
      console.log(renderProgress(rows, options.format as 'table' | 'json' | 'csv'));
    });
};
