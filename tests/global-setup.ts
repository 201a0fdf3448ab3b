/**
 * Vitest global setup for integration tests: use DATABASE_URL / REDIS_URL when set (CI, dev
 * machines), else start PostgreSQL 16 and Redis 7 with testcontainers (needs a Docker engine).
 * Builds the bundles first: the tests that run services as processes run what production runs.
 */
import type { TestProject } from 'vitest/node';
import { buildBundles } from '../scripts/build';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await buildBundles();
  const stops: Array<() => Promise<unknown>> = [];
  let databaseUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  if (!databaseUrl) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    databaseUrl = container.getConnectionUri();
    stops.push(() => container.stop());
  }
  if (!redisUrl) {
    const { RedisContainer } = await import('@testcontainers/redis');
    const container = await new RedisContainer('redis:7-alpine').start();
    redisUrl = container.getConnectionUrl();
    stops.push(() => container.stop());
  }
  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
