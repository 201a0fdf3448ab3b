/**
 * The read API and the dashboard as one fastify app. Built without listening, so tests can
 * `inject` requests or listen on port 0; main.ts wires it to the environment.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { ValidationError } from '@nst/shared/errors';
import type { ApiDeps } from './deps';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { buildOpenApiDocument } from './openapi';
import { documentsDocs, registerDocumentRoutes } from './routes/documents';
import { registerHealthRoutes } from './routes/health';
import { newsDocs, registerNewsRoutes } from './routes/news';
import { progressDocs, registerProgressRoutes } from './routes/progress';
import { registerSeriesRoutes, seriesDocs } from './routes/series';
import { registerSourcesRoutes, sourcesDocs } from './routes/sources';

export type { ApiDeps } from './deps';

const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));
// ECharts is served from node_modules (no CDN): the dashboard works offline and pins its version.
const ECHARTS_DIR = dirname(createRequire(import.meta.url).resolve('echarts'));

/** The dashboard loads only its own scripts, styles and data. */
const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** Options for {@link buildServer}. */
export interface ApiServerOptions extends ApiDeps {
  /** Prometheus metrics; default a fresh registry. */
  metrics?: ApiMetrics;
  /** Version shown in the OpenAPI document; default 0.1.0. */
  version?: string;
}

export async function buildServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { pool, logger } = options;
  const metrics = options.metrics ?? createApiMetrics();
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; typed as the base so routes take a plain FastifyInstance.
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request is written below, with the route pattern rather than the raw URL.
    logController: new LogController({ disableRequestLogging: true }),
    // The API is read-only: no bodies to parse beyond the defaults, and none larger than 1 KiB.
    bodyLimit: 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', DASHBOARD_CSP);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route, method: request.method }, seconds);
    const line = { method: request.method, route, status: reply.statusCode, durationMs: Math.round(reply.elapsedTime) };
    if (reply.statusCode >= 500) request.log.warn(line, 'request failed');
    else request.log.debug(line, 'request');
  });

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    if (error instanceof ValidationError) {
      return reply.code(400).send({ error: 'bad_request', message: error.message, issues: error.issues });
    }
    if (error.statusCode && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: 'bad_request', message: error.message });
    }
    // pg connection failures carry a node error code; anything else is our bug. Log once, here.
    const unavailable = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|57014|57P01|57P03|53300)$/.test(String((error as { code?: string }).code ?? '')) ||
      /timeout|terminat|connect/i.test(error.message);
    request.log.error({ err: error, route: request.routeOptions.url }, 'request error');
    return reply
      .code(unavailable ? 503 : 500)
      .send(unavailable ? { error: 'unavailable', message: 'the database is unavailable; try again shortly' } : { error: 'internal', message: 'internal error' });
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );

  const deps: ApiDeps = { pool, logger };
  registerHealthRoutes(app, deps, metrics);
  registerProgressRoutes(app, deps);
  registerSeriesRoutes(app, deps);
  registerNewsRoutes(app, deps);
  registerSourcesRoutes(app, deps);
  registerDocumentRoutes(app, deps);

  const openapi = buildOpenApiDocument([...progressDocs, ...seriesDocs, ...newsDocs, ...sourcesDocs, ...documentsDocs], {
    version: options.version ?? '0.1.0',
  });
  app.get('/api/openapi.json', async () => openapi);

  await app.register(fastifyStatic, { root: DASHBOARD_DIR, prefix: '/dashboard/', index: false, maxAge: 60_000 });
  await app.register(fastifyStatic, {
    root: ECHARTS_DIR,
    prefix: '/vendor/echarts/',
    decorateReply: false,
    index: false,
    maxAge: 86_400_000,
    allowedPath: (path) => path === '/echarts.min.js',
  });
  app.get('/', async (_request, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html', DASHBOARD_DIR));

  return app;
}
