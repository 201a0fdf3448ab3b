/**
 * The OpenAPI 3.1 document, built from the same zod schemas that parse each request and describe
 * each response, so the document cannot drift from what the routes accept and return.
 */
import { z } from 'zod';

/** What one route tells the document. */
export interface RouteDoc {
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Query parameters (a zod object: one parameter per key). */
  query?: z.ZodObject;
  /** Path parameters (a zod object). */
  params?: z.ZodObject;
  /** The 200 JSON body. */
  response: z.ZodType;
  /** Other media types the 200 response may have (e.g. text/csv), with a description. */
  alternatives?: Record<string, string>;
}

const toSchema = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _ignored, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return json;
};

const parametersOf = (where: 'query' | 'path', shape: z.ZodObject | undefined) =>
  Object.entries(shape?.shape ?? {}).map(([name, field]) => {
    const schema = toSchema(field as z.ZodType);
    const { description, ...rest } = schema;
    return {
      name,
      in: where,
      required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });

export const ErrorBody = z.object({
  error: z.string().describe('machine-readable reason: bad_request, not_found, unavailable, internal'),
  message: z.string().describe('one line naming the bad parameter, or what went wrong'),
  issues: z.array(z.string()).optional().describe('one entry per bad parameter'),
});

export function buildOpenApiDocument(routes: readonly RouteDoc[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    // OpenAPI writes path parameters as {id}; fastify as :id.
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const content: Record<string, unknown> = { 'application/json': { schema: toSchema(route.response) } };
    for (const [type, description] of Object.entries(route.alternatives ?? {})) {
      content[type] = { schema: { type: 'string', description } };
    }
    paths[path] = {
      get: {
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        tags: [route.tag],
        parameters: [...parametersOf('path', route.params), ...parametersOf('query', route.query)],
        responses: {
          200: { description: 'OK', content },
          400: { description: 'A bad parameter, named in the message', content: { 'application/json': { schema: toSchema(ErrorBody) } } },
          ...(route.params ? { 404: { description: 'Not found', content: { 'application/json': { schema: toSchema(ErrorBody) } } } } : {}),
          503: { description: 'The database is unavailable', content: { 'application/json': { schema: toSchema(ErrorBody) } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'North–South Transformation Tracker: read API',
      version: info.version,
      description:
        'Read-only access to the progress of Baoshan and Jinshan toward the 2025 goals of the 2022 Implementation Opinions, ' +
        'the series behind it, the news, and the archived source documents. Numbers are decimal strings at the published ' +
        'scale: multiply by 10^unit_mult for the unit (unit_mult 8: 亿元, 10⁸ CNY). Every figure names the document it came from.',
    },
    paths,
  };
}
