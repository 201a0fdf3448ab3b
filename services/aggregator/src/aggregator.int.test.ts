/**
 * The aggregator against real PostgreSQL and Redis: only dependent targets recompute, unchanged
 * inputs write nothing, and a burst of jobs for one key is coalesced.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeQueues, createQueues, enqueue, type Queues } from '@nst/shared/jobs';
import { createLogger } from '@nst/shared/logger';
import { createRedis } from '@nst/shared/redis';
import { createTestDatabase, createTestRedis, type TestDatabase, type TestRedis } from '@nst/shared/testing';
import { aggregate } from './jobs/aggregate-indicator';
import { archiveEmptyDocument } from './testing';

const deps = (db: TestDatabase) => ({ pool: db.pool, logger: createLogger({ service: 'test', level: 'silent' }) });

describe('aggregator', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    const doc = await archiveEmptyDocument(db.pool);
    const add = (district: string, period: string, value: string, validFrom: string) =>
      db.pool.query(
        `INSERT INTO core.observation (district, indicator, measure, accumulation, period, period_start, period_end, value, raw_value, unit, unit_mult,
                                       status, document_id, url, locator, parser_version, valid_from)
         VALUES ($1, 'gdp', 'level', 'period', $2, ($2 || '-01-01')::date, ($2 || '-12-31')::date, $3::numeric, $3, 'CNY', 8, 'final', $4, 'https://xxgk.shbsq.gov.cn/t.html', 'p[1]', 't', $5)`,
        [district, period, value, doc, validFrom],
      );
    await add('baoshan', '2021', '1725.00', '2022-03-25T00:00:00Z');
    await add('jinshan', '2021', '1182.00', '2022-04-07T00:00:00Z');
    await add('baoshan', '2024', '1900.00', '2025-03-25T00:00:00Z');
    await add('jinshan', '2024', '1300.00', '2025-04-07T00:00:00Z');
  });
  afterAll(async () => {
    await db.drop();
  });

  const snapshotRows = async () => (await db.pool.query('SELECT id, target_key, known_from, known_to, computed_at FROM agg.progress_snapshot ORDER BY id')).rows;

  it('recomputes the targets that read the change, and only those', async () => {
    const result = await aggregate({ scope: 'jinshan', indicator: 'gdp' }, deps(db));
    expect(result.targets.sort()).toEqual(['opinions-2022/js-gdp', 'opinions-2022/ns-gdp-4000', 'opinions-2022/ns-gdp-growth-above-city']);
    const written = await snapshotRows();
    expect(new Set(written.map((r) => r.target_key))).toEqual(new Set(['js-gdp', 'ns-gdp-4000', 'ns-gdp-growth-above-city']));
    // ns-gdp-4000 has one snapshot per change of what was known: 2021 both → 2024 Baoshan → 2024 both.
    const ns = written.filter((r) => r.target_key === 'ns-gdp-4000');
    expect(ns.map((r) => r.known_from.toISOString().slice(0, 10))).toEqual(['2022-03-25', '2022-04-07', '2025-04-07']);
    expect(ns.at(-1)!.known_to).toBeNull();
    const latest = await db.pool.query("SELECT actual_value::text, status FROM agg.latest_progress WHERE target_key = 'ns-gdp-4000'");
    expect(latest.rows).toEqual([{ actual_value: '3200', status: 'behind' }]);
  });

  it('an indicator no target reads recomputes nothing', async () => {
    const result = await aggregate({ scope: 'baoshan', indicator: 'retail_sales' }, deps(db));
    expect(result.targets).toEqual([]);
  });

  it('unchanged inputs write nothing', async () => {
    await aggregate({ scope: 'baoshan', indicator: 'gdp' }, deps(db));
    const before = await snapshotRows();
    const again = await aggregate({ scope: 'baoshan', indicator: 'gdp' }, deps(db));
    expect(again.counts).toEqual({ kept: again.counts.kept, inserted: 0, deleted: 0 });
    const after = await snapshotRows();
    const unchanged = after.filter((r) => before.some((b) => b.id === r.id));
    expect(unchanged.map((r) => r.computed_at.getTime())).toEqual(before.map((r) => r.computed_at.getTime()));
  });
});

describe('aggregate job coalescing', () => {
  let redis: TestRedis;
  let connection: Redis;
  let queues: Queues;
  beforeAll(async () => {
    redis = await createTestRedis();
    connection = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    queues = createQueues({ connection, prefix: redis.prefix });
  });
  afterAll(async () => {
    await closeQueues(queues);
    connection.disconnect();
    await redis.cleanup();
  });

  it('a burst of jobs for one key waits as one job', async () => {
    // As the normalizer enqueues them: one deduplication id per (scope, indicator).
    for (let i = 0; i < 20; i += 1) {
      await enqueue(queues, 'aggregate-indicator', { scope: 'baoshan', indicator: 'gdp' }, { deduplication: { id: 'agg_baoshan_gdp', keepLastIfActive: true } });
      await enqueue(queues, 'aggregate-indicator', { scope: 'jinshan', indicator: 'gdp' }, { deduplication: { id: 'agg_jinshan_gdp', keepLastIfActive: true } });
    }
    expect((await queues.aggregate.getJobCounts('waiting')).waiting).toBe(2);
  });
});
