import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis } from '@nst/shared/redis';
import { createTestRedis, type TestRedis } from '@nst/shared/testing';
import { createPolitenessGate, type StartResult } from './rate-limit';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function started(result: StartResult): Extract<StartResult, { started: true }> {
  if (!result.started) throw new Error(`not started: ${result.busy} busy for ${result.waitMs} ms`);
  return result;
}

describe('politeness shared by replicas', () => {
  let redis: TestRedis;
  let a: Redis;
  let b: Redis;
  beforeAll(async () => {
    redis = await createTestRedis();
    a = createRedis(redis.url, { role: 'worker', name: redis.prefix });
    b = createRedis(redis.url, { role: 'worker', name: redis.prefix });
  });
  afterAll(async () => {
    a.disconnect();
    b.disconnect();
    await redis.cleanup();
  });

  it('gives two replicas turns on one host at least minDelay apart', async () => {
    // Two replicas = two connections and two gates over the same Redis keys.
    const replicas = [createPolitenessGate(a, redis.prefix), createPolitenessGate(b, redis.prefix)];
    const turns = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => replicas[i % 2]!.reserve('tjj.sh.gov.cn', 200, 'sh-tjj-monthly')));
    const slots = turns.map((turn) => turn.slotAt).sort((x, y) => x - y);
    // Turns are reserved on Redis's clock, so the spacing is exact whatever the load on this machine.
    for (let i = 1; i < slots.length; i += 1) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(200);
    // The last turn is five delays away, and the host's state outlives it by a day.
    expect(slots.at(-1)! - slots[0]!).toBeGreaterThanOrEqual(5 * 200);
    expect(await a.pttl(`${redis.prefix}:politeness:tjj.sh.gov.cn`)).toBeGreaterThan(86_400_000);
  });

  it('keeps hosts independent', async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    await gate.reserve('www.jinshan.gov.cn', 5_000, 'js-news');
    expect((await gate.reserve('xxgk.shbsq.gov.cn', 5_000, 'bs-stats-monthly')).waitMs).toBe(0);
  });

  it('refuses a start while the host\'s last one is younger than minDelay, whatever turn the caller holds', async () => {
    const [gateA, gateB] = [createPolitenessGate(a, redis.prefix), createPolitenessGate(b, redis.prefix)];
    const request = { host: 'english.shanghai.gov.cn', minDelayMs: 300, source: 'sh-news-en', concurrency: 4, leaseMs: 5_000 };
    const first = started(await gateA.start(request));
    const refused = await gateB.start(request);
    expect(refused).toMatchObject({ started: false, busy: 'host' });
    const waitMs = (refused as { waitMs: number }).waitMs;
    expect(waitMs).toBeGreaterThan(0);
    expect(waitMs).toBeLessThanOrEqual(300);
    await sleep(waitMs);
    const second = started(await gateB.start(request));
    expect(second.at - first.at).toBeGreaterThanOrEqual(300);
    await first.lease.release();
    await second.lease.release();
  });

  it("counts the host's delay from the end of its last request once it is released", async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    const request = { host: 'www.shanghai.gov.cn', minDelayMs: 300, source: 'sh-news-zh', concurrency: 4, leaseMs: 5_000 };
    const first = started(await gate.start(request));
    await sleep(200); // the response takes its time
    await first.lease.release();
    const refused = await gate.start(request);
    expect(refused).toMatchObject({ started: false, busy: 'host' });
    // A delay from the end, not the 100 ms left of a delay from the start.
    expect((refused as { waitMs: number }).waitMs).toBeGreaterThan(150);
    await sleep((refused as { waitMs: number }).waitMs);
    const second = started(await gate.start(request));
    expect(second.at - first.at).toBeGreaterThanOrEqual(500);
    await second.lease.release();
  });

  it('starts a request no earlier before its turn than its caller allows, on a ready host', async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    await gate.reserve('zwgk.test', 1_000, 'zwgk');
    const turn = await gate.reserve('zwgk.test', 1_000, 'zwgk');
    const request = { host: 'zwgk.test', minDelayMs: 1_000, source: 'zwgk', concurrency: 1, leaseMs: 5_000, turnAt: turn.slotAt };
    // A delay early is too early (a job promoted by hand); within 300 ms of the turn is not.
    const early = await gate.start({ ...request, earlyMs: 300 });
    expect(early).toMatchObject({ started: false, busy: 'turn' });
    expect((early as { waitMs: number }).waitMs).toBeGreaterThan(300);
    await sleep((early as { waitMs: number }).waitMs - 250);
    await started(await gate.start({ ...request, earlyMs: 300 })).lease.release();
  });

  it('spaces the requests of a host shared by sources with different delays by the longer one', async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    // www.jinshan.gov.cn: js-news waits 3 s, js-bulletin 2 s (seeds/sources.yaml); here 1,000 and 100 ms.
    const slow = { host: 'shared.test', minDelayMs: 1_000, source: 'slow-source', concurrency: 1, leaseMs: 5_000 };
    const quick = { ...slow, minDelayMs: 100, source: 'quick-source' };
    const first = started(await gate.start(slow));
    await first.lease.release();
    const refused = await gate.start(quick);
    expect(refused).toMatchObject({ started: false, busy: 'host' });
    expect((refused as { waitMs: number }).waitMs).toBeGreaterThan(500);
    await sleep((refused as { waitMs: number }).waitMs);
    const second = started(await gate.start(quick));
    expect(second.at - first.at).toBeGreaterThanOrEqual(1_000);
    await second.lease.release();
    // And the other way round: past the quick source's own delay, the slow one still waits its
    // longer delay from the quick request's end.
    await sleep(200);
    expect(await gate.start(slow)).toMatchObject({ started: false, busy: 'host' });
    expect(await gate.start(quick)).toMatchObject({ started: true });
  });

  it("gives a source's turn on a shared host a response and its longer delay after the turn before, both ways", async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    const quick = await gate.reserve('turns.test', 300, 'quick-source');
    const slow = await gate.reserve('turns.test', 1_500, 'slow-source');
    expect(slow.slotAt - quick.slotAt).toBeGreaterThanOrEqual(1_500);
    const after = await gate.reserve('turns.test', 300, 'quick-source');
    expect(after.slotAt - slow.slotAt).toBeGreaterThanOrEqual(1_500);
  });

  it('spaces turns by a bounded response time, even when the first answer took long', async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    const request = { host: 'slow-answer.test', minDelayMs: 50, source: 'slow-answer', concurrency: 1, leaseMs: 5_000 };
    const first = started(await gate.start(request));
    await sleep(400); // a first answer eight delays long
    await first.lease.release();
    const one = await gate.reserve('slow-answer.test', 50, 'slow-answer');
    const two = await gate.reserve('slow-answer.test', 50, 'slow-answer');
    // A delay and at most two delays of response: not the 400 ms answer.
    expect(two.slotAt - one.slotAt).toBeLessThanOrEqual(50 + 100);
    expect(two.slotAt - one.slotAt).toBeGreaterThanOrEqual(50);
  });

  it("spaces a source's turns by its own responses, not by another source's slower ones on the host", async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    const slow = started(await gate.start({ host: 'mixed.test', minDelayMs: 50, source: 'slow-pages', concurrency: 1, leaseMs: 5_000 }));
    await sleep(400);
    await slow.lease.release();
    const one = await gate.reserve('mixed.test', 50, 'quick-pages');
    const two = await gate.reserve('mixed.test', 50, 'quick-pages');
    expect(two.slotAt - one.slotAt).toBe(50);
  });

  it('lets at most `concurrency` requests of a source be in flight, across replicas and hosts', async () => {
    const [gateA, gateB] = [createPolitenessGate(a, redis.prefix), createPolitenessGate(b, redis.prefix)];
    // Hosts of their own, so that only the source's limit can refuse.
    const request = (host: string) => ({ host, minDelayMs: 1, source: 'js-bulletin', concurrency: 2, leaseMs: 5_000 });
    const one = started(await gateA.start(request('h1.test')));
    const two = started(await gateB.start(request('h2.test')));
    const third = await gateA.start(request('h3.test'));
    expect(third).toMatchObject({ started: false, busy: 'source' });
    // Its wait is bounded by the first lease's expiry.
    expect((third as { waitMs: number }).waitMs).toBeLessThanOrEqual(5_000);
    await one.lease.release();
    const four = started(await gateB.start(request('h4.test')));
    await Promise.all([two.lease.release(), four.lease.release(), four.lease.release()]);
    await started(await gateA.start(request('h5.test'))).lease.release();
  });

  it('frees the place of a request whose replica died without releasing it, once its lease expires', async () => {
    const gate = createPolitenessGate(a, redis.prefix);
    const request = (host: string) => ({ host, minDelayMs: 1, source: 'bs-news', concurrency: 1, leaseMs: 200 });
    started(await gate.start(request('k1.test'))); // never released: the replica is gone
    expect(await gate.start(request('k2.test'))).toMatchObject({ started: false, busy: 'source' });
    await sleep(250);
    await started(await gate.start(request('k3.test'))).lease.release();
  });
});
