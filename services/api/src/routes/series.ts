/** GET /api/series: current observations with their sources, as JSON or CSV. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Accumulation, Measure } from '@nst/shared/domain';
import { ValidationError } from '@nst/shared/errors';
import { toCsv } from '../csv';
import type { ApiDeps } from '../deps';
import type { RouteDoc } from '../openapi';
import { boundRange, Code, DistrictList, listOf, parseQuery, PeriodBound, ResponseFormat } from '../query';
import { SERIES_COLUMNS, selectSeries } from '../sql/select-series';

export const SeriesQuery = z.strictObject({
  district: DistrictList.optional().describe('baoshan, jinshan or shanghai; several separated by commas'),
  indicator: listOf(Code, 'indicator').optional().describe('indicator codes (GET /api/indicators); several separated by commas'),
  measure: z.enum(Measure.options, { error: `must be one of ${Measure.options.join(', ')}` }).optional()
    .describe('level, yoy_pct, share_pct or pp_change'),
  accumulation: z.enum(Accumulation.options, { error: `must be one of ${Accumulation.options.join(', ')}` }).optional()
    .describe('period (a single month, quarter or year) or ytd (year to date)'),
  from: PeriodBound.optional().describe('periods ending on or after the start of: 2021, 2025-H1, 2025-Q3, 2025-06 or 2025-06-30'),
  to: PeriodBound.optional().describe('periods ending on or before the end of: 2025, 2025-Q3, 2025-06 or 2025-06-30'),
  format: ResponseFormat.optional().describe('json (default) or csv; Accept: text/csv works too'),
});

export const SeriesRow = z.object({
  district: z.string(),
  indicator: z.string(),
  measure: z.string(),
  accumulation: z.string(),
  period: z.string().describe('SDMX-style period code: 2025, 2025-H1, 2025-Q3, 2025-06'),
  period_start: z.string().describe('ISO date'),
  period_end: z.string().describe('ISO date'),
  basis: z.string(),
  value: z.string().describe('decimal at the published scale'),
  raw_value: z.string().describe('the figure as published'),
  unit: z.string(),
  unit_mult: z.number().int(),
  status: z.string(),
  valid_from: z.string().describe('publication date of this vintage (ISO 8601)'),
  source_url: z.string().describe('the publisher URL'),
  locator: z.string().describe('where in the document: table, row, column or text span'),
  document_id: z.number().int().describe('the archived copy: GET /api/documents/{document_id}'),
  observation_id: z.number().int(),
});

export const SeriesResponse = z.object({ count: z.number().int(), items: z.array(SeriesRow) });

export const seriesDocs: RouteDoc[] = [
  {
    path: '/api/series',
    tag: 'series',
    summary: 'Current observations with their sources',
    description: 'Rows of agg.series. A figure belongs where its period ends: from/to select by period_end (a year-to-date 2025-06 is in from=2025-Q2). CSV with ?format=csv or Accept: text/csv (same columns, header line first).',
    query: SeriesQuery,
    response: SeriesResponse,
    alternatives: { 'text/csv': `RFC 4180 CSV, columns: ${SERIES_COLUMNS.join(', ')}` },
  },
];

export function registerSeriesRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/series', async (request, reply) => {
    const query = parseQuery(SeriesQuery, request.query);
    const from = query.from ? boundRange(query.from).start : undefined;
    const to = query.to ? boundRange(query.to).end : undefined;
    if (from && to && from > to) throw new ValidationError('bad parameter: from: must not be after to', ['from: must not be after to']);
    const rows = await selectSeries(deps.pool, {
      districts: query.district,
      indicators: query.indicator,
      measure: query.measure,
      accumulation: query.accumulation,
      endFrom: from,
      endBy: to,
    });
    const csv = query.format ? query.format === 'csv' : wantsCsv(request.headers.accept);
    if (csv) {
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'inline; filename="series.csv"')
        .send(toCsv(SERIES_COLUMNS, rows));
    }
    return { count: rows.length, items: rows };
  });
}

/** CSV when the client lists text/csv and ranks it above JSON (or does not list JSON). */
function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  const quality = (type: string) => {
    for (const part of accept.split(',')) {
      const [name, ...params] = part.trim().split(';');
      if (name?.trim().toLowerCase() !== type) continue;
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return q ? Number(q.slice(2)) || 0 : 1;
    }
    return -1;
  };
  const csv = quality('text/csv');
  return csv > 0 && csv >= quality('application/json');
}
