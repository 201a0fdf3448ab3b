import type { Pool } from '@nst/shared/db';

export interface IndicatorRow {
  code: string;
  name_zh: string;
  name_en: string;
  unit: string;
  unit_mult: number;
  additive: boolean;
  description: string | null;
}

export async function selectIndicators(pool: Pool): Promise<IndicatorRow[]> {
  const { rows } = await pool.query<IndicatorRow>(
    'SELECT code, name_zh, name_en, unit, unit_mult, additive, description FROM agg.indicator ORDER BY code',
  );
  return rows;
}
