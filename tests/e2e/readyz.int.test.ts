/**
 * /readyz of a real service process turns unready when Redis or PostgreSQL goes away and ready
 * again when it returns. Redis is a server of the test's own (killed and restarted on its port);
 * PostgreSQL sits behind a TCP proxy the test can cut.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@nst/shared/testing';
import { eventually, freePort, startProxy, startService, type CuttableProxy, type ServiceProcess } from '../helpers';

function startRedisServer(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
}

describe('/readyz', () => {
  let db: TestDatabase;
  let proxy: CuttableProxy;
  let redisPort: number;
  let redisServer: ChildProcess;
  let service: ServiceProcess;
  let opsUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const pg = new URL(db.url);
    proxy = await startProxy(pg.hostname, Number(pg.port || 5432));
    pg.hostname = '127.0.0.1';
    pg.port = String(proxy.port);
    redisPort = await freePort();
    redisServer = startRedisServer(redisPort);
    const opsPort = await freePort();
    service = startService('services/normalizer/src/main.ts', {
      DATABASE_URL: pg.toString(),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      NST_QUEUE_PREFIX: 'nsttest-readyz',
      PORT: String(opsPort),
      LOG_LEVEL: 'info',
    });
    await service.waitForLine((line) => line.msg === 'normalizer started');
    opsUrl = `http://127.0.0.1:${opsPort}`;
  });

  afterAll(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    redisServer?.kill('SIGKILL');
    await proxy?.close();
    await db?.drop();
  });

  const ready = async () => (await fetch(`${opsUrl}/readyz`)).status === 200;
  const unready = async () => (await fetch(`${opsUrl}/readyz`)).status === 503;

  it('is alive and ready with both servers up, and serves metrics', async () => {
    expect((await fetch(`${opsUrl}/healthz`)).status).toBe(200);
    await eventually(ready);
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
    expect(metrics).toContain('nst_jobs_completed_total');
    expect(metrics).toContain('process_resident_memory_bytes');
  });

  it('turns unready when Redis goes away, and ready when it returns', async () => {
    redisServer.kill('SIGKILL');
    await eventually(unready);
    const body = (await (await fetch(`${opsUrl}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks.redis).not.toBe('ok');
    expect(body.checks.postgres).toBe('ok');
    redisServer = startRedisServer(redisPort);
    await eventually(ready, 30_000);
  });

  it('turns unready when PostgreSQL goes away, and ready when it returns', async () => {
    proxy.cut();
    await eventually(unready);
    const body = (await (await fetch(`${opsUrl}/readyz`)).json()) as { checks: Record<string, string> };
    expect(body.checks.postgres).not.toBe('ok');
    proxy.restore();
    await eventually(ready, 30_000);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.lines.some((line) => line.msg === 'stopped')).toBe(true);
  });
});
