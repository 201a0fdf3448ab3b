import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '@nst/shared/testing';
import { opsCredentials } from './commands/ops-ui';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function startOpsUi(env: Record<string, string>) {
  const child = spawn(`${root}node_modules/.bin/tsx`, ['packages/cli/src/main.ts', 'ops-ui', '--port', '0'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearInterval(timer);
        resolve(match[1]!);
      }
    }, 50);
    void exited.then(() => {
      clearInterval(timer);
      reject(new Error(`exited: ${stderr}`));
    });
  });
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

describe('ops UI credentials', () => {
  it('accepts the development default only in development', () => {
    expect(opsCredentials({ NODE_ENV: 'development' })).toEqual({ user: 'admin', password: 'admin' });
    expect(() => opsCredentials({ NODE_ENV: 'production' })).toThrow(/refusing to start the ops UI/);
    expect(() => opsCredentials({ NODE_ENV: 'production', NST_OPS_USER: 'ops', NST_OPS_PASSWORD: 'admin' })).toThrow(/default or missing credentials/);
    expect(opsCredentials({ NODE_ENV: 'production', NST_OPS_USER: 'ops', NST_OPS_PASSWORD: 's3cret-enough' })).toEqual({ user: 'ops', password: 's3cret-enough' });
  });
});

describe('nst ops-ui', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await createTestRedis();
  });
  afterAll(async () => {
    await redis.cleanup();
  });

  it('serves Bull Board only with the configured credentials', async () => {
    const ui = startOpsUi({ REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix, NODE_ENV: 'production', NST_OPS_USER: 'ops', NST_OPS_PASSWORD: 'correct horse battery' });
    try {
      const url = await ui.url;
      expect((await fetch(url)).status).toBe(401);
      const wrong = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('ops:admin').toString('base64')}` } });
      expect(wrong.status).toBe(401);
      const right = await fetch(url, { headers: { authorization: `Basic ${Buffer.from('ops:correct horse battery').toString('base64')}` } });
      expect(right.status).toBe(200);
      expect(await right.text()).toMatch(/bull/i);
      const api = await fetch(`${url}api/queues`, { headers: { authorization: `Basic ${Buffer.from('ops:correct horse battery').toString('base64')}` } });
      const body = (await api.json()) as { queues: Array<{ name: string }> };
      expect(body.queues.map((q) => q.name).sort()).toEqual(['aggregate', 'fetch', 'normalize']);
      // The password never reaches the output.
      expect(JSON.stringify(ui.output())).not.toContain('correct horse battery');
    } finally {
      ui.child.kill('SIGTERM');
      await ui.exited;
    }
  });

  it('refuses to start with default credentials outside development', async () => {
    const ui = startOpsUi({ REDIS_URL: redis.url, NST_QUEUE_PREFIX: redis.prefix, NODE_ENV: 'production' });
    expect(await ui.exited).toBe(1);
    expect(ui.output().stderr.trim()).toMatch(/^nst: refusing to start the ops UI with default or missing credentials outside development/);
    await ui.url.catch(() => undefined);
  });
});
