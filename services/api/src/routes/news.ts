/** GET /api/news: the latest news items, by district, industry and key area. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps';
import type { RouteDoc } from '../openapi';
import { Code, DistrictParam, parseQuery } from '../query';
import { selectNews } from '../sql/select-news';

export const NewsQuery = z.strictObject({
  district: DistrictParam.optional().describe('baoshan, jinshan or shanghai'),
  industry: Code.optional().describe('new_materials, biomedicine, intelligent_equipment, new_gen_it, hydrogen, nev, robotics, …'),
  area: Code.optional().describe('wusong, nanda, shu_ring, chemical_zone, bay_area_hitech, carbon_valley, binhai'),
  lang: z.enum(['zh', 'en'], { error: 'must be zh or en' }).optional().describe('language of the article'),
  limit: z.coerce.number({ error: 'must be a whole number from 1 to 200' }).int('must be a whole number from 1 to 200')
    .min(1, 'must be a whole number from 1 to 200').max(200, 'must be a whole number from 1 to 200').default(20)
    .describe('how many, most recent first (1–200, default 20)'),
});

export const NewsItem = z.object({
  id: z.number().int(),
  title: z.string(),
  lang: z.string(),
  published_at: z.string().nullable().describe('ISO 8601 timestamp'),
  districts: z.array(z.string()),
  industries: z.array(z.string()),
  areas: z.array(z.string()),
  summary: z.string().nullable(),
  source_url: z.string().describe('the publisher URL'),
  document_id: z.number().int().describe('the archived copy: GET /api/documents/{document_id}'),
});

export const NewsResponse = z.object({ count: z.number().int(), items: z.array(NewsItem) });

export const newsDocs: RouteDoc[] = [
  { path: '/api/news', tag: 'news', summary: 'Latest news, most recent first', query: NewsQuery, response: NewsResponse },
];

export function registerNewsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/news', async (request) => {
    const query = parseQuery(NewsQuery, request.query);
    const items = await selectNews(deps.pool, query);
    return { count: items.length, items };
  });
}
