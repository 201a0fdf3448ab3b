import type { Pool } from '@nst/shared/db';

export interface NewsRow {
  id: number;
  title: string;
  lang: string;
  published_at: Date | null;
  districts: string[];
  industries: string[];
  areas: string[];
  summary: string | null;
  source_url: string;
  document_id: number;
}

export interface SelectNewsOptions {
  district?: string;
  industry?: string;
  area?: string;
  lang?: string;
  /** Most recent first; default 20. */
  limit?: number;
}

export async function selectNews(pool: Pool, options: SelectNewsOptions = {}): Promise<NewsRow[]> {
  const { rows } = await pool.query<NewsRow>(
    `SELECT id, title, lang, published_at, districts, industries, areas, summary, source_url, document_id
     FROM agg.news
     WHERE ($1::text IS NULL OR $1 = ANY(districts))
       AND ($2::text IS NULL OR $2 = ANY(industries))
       AND ($3::text IS NULL OR $3 = ANY(areas))
       AND ($4::text IS NULL OR lang = $4)
     ORDER BY published_at DESC NULLS LAST, id DESC
     LIMIT $5`,
    [options.district ?? null, options.industry ?? null, options.area ?? null, options.lang ?? null, options.limit ?? 20],
  );
  return rows;
}
