/** /healthz (the process answers), /readyz (PostgreSQL answers as nst_reader), /metrics (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps';
import type { ApiMetrics } from '../metrics';

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps, metrics: ApiMetrics): void {
  app.get('/healthz', async (_request, reply) => reply.header('cache-control', 'no-store').send({ ok: true }));

  app.get('/readyz', async (_request, reply) => {
    const postgres = await withTimeout(deps.pool.query('SELECT 1'), 2_000).then(
      () => 'ok',
      (error: Error) => error.message,
    );
    const ok = postgres === 'ok';
    return reply.code(ok ? 200 : 503).header('cache-control', 'no-store').send({ ok, checks: { postgres } });
  });

  app.get('/metrics', async (_request, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
