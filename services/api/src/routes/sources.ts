/** GET /api/sources: every source with its last fetch attempt; GET /api/indicators: the catalog. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import type { RouteDoc } from '../openapi';
import { parseQuery } from '../query';
import { selectIndicators } from '../sql/select-indicators';
import { selectSources } from '../sql/select-sources';

const NoQuery = z.strictObject({});
const Timestamp = z.string().nullable().describe('ISO 8601 timestamp');

export const SourceStatus = z.object({
  key: z.string(),
  name: z.string(),
  publisher: z.string(),
  district: z.string().nullable(),
  format: z.string(),
  url: z.string().describe('the publisher URL'),
  schedule: z.string().describe('cron expression'),
  lang: z.string(),
  enabled: z.boolean(),
  last_fetch_at: Timestamp,
  last_outcome: z.enum(['archived', 'unchanged', 'not_modified', 'retry', 'failed', 'refused', 'skipped']).nullable(),
  last_http_status: z.number().int().nullable(),
  last_error_code: z.string().nullable(),
  last_error_message: z.string().nullable(),
  last_duration_ms: z.number().int().nullable(),
  last_success_at: Timestamp.describe('last fetch that reached the publisher (archived, unchanged, not modified)'),
  documents: z.number().int().describe('archived documents of this source'),
});

export const SourcesResponse = z.object({ count: z.number().int(), items: z.array(SourceStatus) });

export const Indicator = z.object({
  code: z.string(),
  name_zh: z.string(),
  name_en: z.string(),
  unit: z.string(),
  unit_mult: z.number().int(),
  additive: z.boolean(),
  description: z.string().nullable(),
});

export const IndicatorsResponse = z.object({ count: z.number().int(), items: z.array(Indicator) });

export const sourcesDocs: RouteDoc[] = [
  { path: '/api/sources', tag: 'sources', summary: 'Each source with its last fetch status', query: NoQuery, response: SourcesResponse },
  { path: '/api/indicators', tag: 'series', summary: 'The indicator catalog (names in Chinese and English, units)', query: NoQuery, response: IndicatorsResponse },
];

export function registerSourcesRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/sources', async (request) => {
    parseQuery(NoQuery, request.query);
    const items = await selectSources(deps.pool);
    return { count: items.length, items };
  });
  app.get('/api/indicators', async (request) => {
    parseQuery(NoQuery, request.query);
    const items = await selectIndicators(deps.pool);
    return { count: items.length, items };
  });
}
