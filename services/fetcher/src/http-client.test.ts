import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NonRetryableError, RetryableError } from '@nst/shared/errors';
import { httpGet, type HttpGetOptions } from './http-client';
import { createGuard } from './ssrf';

const PAGE = Buffer.from(`<html><head><meta charset="utf-8"><title>宝山区主要经济指标</title></head><body>${'<p>地区生产总值 1725.0 亿元</p>'.repeat(200)}</body></html>`);

/** Path → the body as sent and its Content-Encoding. */
const ENCODED: Record<string, { body: Buffer; encoding: string }> = {
  '/gzip': { body: gzipSync(PAGE), encoding: 'gzip' },
  '/deflate': { body: deflateSync(PAGE), encoding: 'deflate' },
  '/deflate-raw': { body: deflateRawSync(PAGE), encoding: 'deflate' },
  '/br': { body: brotliCompressSync(PAGE), encoding: 'br' },
  // Applied in the order listed: gzip first, then brotli.
  '/gzip-then-br': { body: brotliCompressSync(gzipSync(PAGE)), encoding: 'gzip, br' },
  '/identity': { body: PAGE, encoding: 'identity' },
  '/bomb': { body: gzipSync(Buffer.alloc(4 * 1024 * 1024)), encoding: 'gzip' },
  '/not-gzip': { body: PAGE, encoding: 'gzip' },
  '/zstd': { body: PAGE, encoding: 'zstd-unknown' },
};

let server: Server;
let base: string;
const userAgents: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    userAgents.push(req.headers['user-agent'] ?? '');
    const encoded = ENCODED[req.url ?? ''];
    if (encoded) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-encoding': encoded.encoding, 'x-served': 'yes' });
      res.end(encoded.body);
    } else if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/html' });
      // 2 MB in 64 KB pieces, no Content-Length: the cap is met while reading.
      for (let i = 0; i < 32; i++) res.write(Buffer.alloc(64 * 1024, 0x20));
      res.end();
    } else if (req.url === '/image' || req.url === '/declared') {
      // 32 MB announced, sent in pieces: the client gives up before the body has arrived.
      res.writeHead(200, { 'content-type': req.url === '/image' ? 'image/png' : 'text/html', 'content-length': String(32 * 1024 * 1024) });
      res.on('error', () => undefined);
      const piece = Buffer.alloc(256 * 1024);
      let sent = 0;
      const more = () => {
        while (sent < 128 && !res.destroyed) {
          sent += 1;
          if (!res.write(piece)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    } else {
      res.writeHead(404).end('not here');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const options = (): HttpGetOptions => ({
  // The test server stands where the offline publisher does: the one loopback origin allowed.
  guard: createGuard({ allowedHosts: [new URL(base).host], publisherOrigin: base }),
  urlMap: { offline: false, publisherUrl: base },
  userAgent: 'nst-test/1.0 (+http-client)',
  connectTimeoutMs: 2_000,
  totalTimeoutMs: 5_000,
  maxBytes: 1024 * 1024,
  maxRedirects: 2,
});

describe('httpGet', () => {
  it('undoes every content coding a server may send (gzip, zlib and raw deflate, brotli, two in a row) and keeps the headers but the coding', async () => {
    for (const path of ['/gzip', '/deflate', '/deflate-raw', '/br', '/gzip-then-br', '/identity']) {
      const result = await httpGet(`${base}${path}`, options());
      expect({ path, same: result.body.equals(PAGE) }).toEqual({ path, same: true });
      expect(result.headers['content-encoding']).toBeUndefined();
      expect(result.headers['x-served']).toBe('yes');
    }
    expect(userAgents.at(-1)).toBe('nst-test/1.0 (+http-client)');
  });

  it('refuses a body that decodes past the size cap, and one that arrives past it, as body_too_large; the process lives on', async () => {
    await expect(httpGet(`${base}/bomb`, options())).rejects.toMatchObject({ code: 'body_too_large' });
    await expect(httpGet(`${base}/big`, options())).rejects.toMatchObject({ code: 'body_too_large' });
    // Given up unread (announced too large, not a page): the body is destroyed without an unhandled 'error'.
    await expect(httpGet(`${base}/declared`, options())).rejects.toMatchObject({ code: 'body_too_large' });
    await expect(httpGet(`${base}/image`, options())).rejects.toMatchObject({ code: 'unexpected_content_type' });
    const result = await httpGet(`${base}/gzip`, options());
    expect(result.body.equals(PAGE)).toBe(true);
  });

  it('types a body that is not what its coding says as retryable, and a coding it does not know as not', async () => {
    const garbled = httpGet(`${base}/not-gzip`, options());
    await expect(garbled).rejects.toBeInstanceOf(RetryableError);
    await expect(garbled).rejects.toMatchObject({ code: 'network_error' });
    const unknown = httpGet(`${base}/zstd`, options());
    await expect(unknown).rejects.toBeInstanceOf(NonRetryableError);
    await expect(unknown).rejects.toMatchObject({ code: 'unsupported_content_encoding' });
  });
});
