/** GET /api/progress: every 2025 goal with the snapshot in force now, or at `as_of`. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import type { RouteDoc } from '../openapi';
import { Instant, parseQuery } from '../query';
import { selectProgress } from '../sql/select-progress';

export const ProgressQuery = z.strictObject({
  as_of: Instant.optional().describe(
    'What was known at this instant: an ISO timestamp with a zone, or a date (the end of that day, UTC+8). Default: now.',
  ),
  release: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be a plan release key such as opinions-2022').optional()
    .describe('Only the targets of this plan release (e.g. opinions-2022).'),
});

const Decimal = z.string().nullable().describe('decimal at the published scale');
const Timestamp = z.string().describe('ISO 8601 timestamp');

export const ProgressInput = z.object({
  observation_id: z.number().int(),
  district: z.string(),
  measure: z.string(),
  accumulation: z.string(),
  period: z.string(),
  value: z.string(),
  status: z.string(),
  valid_from: Timestamp,
  source_url: z.string().describe('the publisher URL of the figure'),
  document_id: z.number().int().nullable().describe('the archived copy: GET /api/documents/{document_id}'),
});

export const ProgressItem = z.object({
  release: z.string(),
  target_key: z.string(),
  scope: z.enum(['baoshan', 'jinshan', 'shanghai', 'north_south']),
  indicator: z.string(),
  kind: z.enum(['level', 'growth_above_city', 'share_of_city_increment', 'tracked']),
  description_zh: z.string(),
  description_en: z.string(),
  target_source: z.string(),
  target_value: Decimal,
  unit: z.string(),
  unit_mult: z.number().int(),
  base_year: z.number().int(),
  target_year: z.number().int(),
  actual_value: Decimal,
  actual_period: z.string().nullable(),
  actual_accumulation: z.string().nullable(),
  partial: z.boolean().nullable().describe('true when the actual is a year-to-date figure, not the full year'),
  actual_status: z.string().nullable(),
  base_value: Decimal,
  progress_pct: Decimal,
  gap: Decimal,
  cagr_realised_pct: Decimal,
  cagr_required_pct: Decimal,
  projected_value: Decimal,
  status: z.enum(['achieved', 'on_track', 'behind', 'missed', 'insufficient_data', 'tracked']).nullable()
    .describe('null when no snapshot was in force'),
  detail: z.record(z.string(), z.unknown()).nullable(),
  known_from: Timestamp.nullable(),
  known_to: Timestamp.nullable(),
  inputs: z.array(ProgressInput).describe('the figures the progress was computed from'),
});

export const ProgressResponse = z.object({
  as_of: Timestamp.nullable().describe('the instant asked for; null for the latest'),
  items: z.array(ProgressItem),
});

export const progressDocs: RouteDoc[] = [
  {
    path: '/api/progress',
    tag: 'progress',
    summary: 'Progress toward each goal',
    description: 'Every target of agg.target with its snapshot from agg.latest_progress, or agg.progress_as_of(as_of).',
    query: ProgressQuery,
    response: ProgressResponse,
  },
];

const str = (value: unknown): string => (value === null || value === undefined ? '' : String(value));

export function registerProgressRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/progress', async (request) => {
    const query = parseQuery(ProgressQuery, request.query);
    const rows = await selectProgress(deps.pool, { asOf: query.as_of, release: query.release });
    const items = rows.map(({ inputs, computed_at: _computed, ...row }) => ({
      ...row,
      // Snapshot inputs are the aggregator's records (camelCase); the API speaks snake_case throughout.
      inputs: inputs.map((input) => ({
        observation_id: Number(input.id),
        district: str(input.district),
        measure: str(input.measure),
        accumulation: str(input.accumulation),
        period: str(input.period),
        value: str(input.value),
        status: str(input.status),
        valid_from: str(input.validFrom),
        source_url: str(input.url),
        document_id: input.document_id,
      })),
    }));
    return { as_of: query.as_of?.toISOString() ?? null, items };
  });
}
