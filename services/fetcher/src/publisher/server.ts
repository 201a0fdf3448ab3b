/**
 * The offline publisher: serves `seeds/fixtures/sites/<host>/<path>` at `/<host>/<path>` with the
 * headers the real publishers send (charset per `seeds/fixtures/publisher.yaml`), ETag / 304,
 * robots.txt, and faults that tests switch on per path: a status N times then OK (503, 429 with
 * Retry-After), a slow response, a redirect loop, a redirect elsewhere, an oversized body, a wrong
 * content type, or an arbitrary body.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const FIXTURES_DIR = fileURLToPath(new URL('../../../../seeds/fixtures/', import.meta.url));

export const Fault = z.discriminatedUnion('kind', [
  /** Answer `status` for the next `times` requests (default: forever), then serve normally. */
  z.object({ kind: z.literal('status'), status: z.number().int().min(100).max(599), times: z.number().int().min(1).optional(), retryAfter: z.string().optional() }),
  /** Wait `delayMs` before the headers, then trickle the body over `trickleMs`. */
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().min(0), trickleMs: z.number().int().min(0).optional() }),
  /** Redirect to itself through a second URL, forever. */
  z.object({ kind: z.literal('redirect-loop') }),
  /** Redirect to `location` (any URL, e.g. a private address). */
  z.object({ kind: z.literal('redirect'), location: z.string(), status: z.number().int().optional() }),
  /** Stream `bytes` bytes of HTML without a Content-Length. */
  z.object({ kind: z.literal('oversized'), bytes: z.number().int().min(1) }),
  /** Serve the file with this Content-Type. */
  z.object({ kind: z.literal('content-type'), contentType: z.string() }),
  /** Serve this body (status 200 unless given). */
  z.object({ kind: z.literal('body'), body: z.string(), contentType: z.string().optional(), status: z.number().int().optional() }),
]);
export type Fault = z.infer<typeof Fault>;

const Manifest = z.object({
  overrides: z
    .array(z.object({ path: z.string(), contentType: z.string().optional(), lastModified: z.string().optional() }))
    .default([]),
});

const DEFAULT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.xls': 'application/vnd.ms-excel',
  '.txt': 'text/plain; charset=utf-8',
  '.pdf': 'application/pdf',
  '.json': 'application/json',
};

/** Options for {@link startPublisher}. */
export interface PublisherOptions {
  /** Folder holding `sites/` and `publisher.yaml`; default seeds/fixtures. */
  fixturesDir?: string;
  /** Port; 0 (default) picks a free one. */
  port?: number;
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** Serve `/_control/*` (set faults from another process); default true. */
  control?: boolean;
  /**
   * Extra files served from memory (generated sites for benchmarks, generated bad input for the
   * resilience tests), by `<host>/<path>`; `headers` are sent as given (e.g. Content-Encoding).
   */
  extraFiles?: ReadonlyMap<string, { body: Buffer; contentType: string; headers?: Readonly<Record<string, string>> }>;
}

export interface RequestRecord {
  path: string;
  method: string;
  userAgent: string | undefined;
  ifNoneMatch: string | undefined;
  status: number;
  /** When the request arrived (epoch ms). */
  receivedAt: number;
  /** When the response was sent (epoch ms). */
  at: number;
}

export interface Publisher {
  url: string;
  port: number;
  /** Switch a fault on for one path (`<host>/<path>`), or `*` for every path. */
  setFault(path: string, fault: Fault): void;
  clearFaults(): void;
  /** Every request served so far, oldest first. */
  requests: RequestRecord[];
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPublisher(options: PublisherOptions = {}): Promise<Publisher> {
  const fixturesDir = options.fixturesDir ?? FIXTURES_DIR;
  const sitesDir = resolve(fixturesDir, 'sites');
  let manifest: z.infer<typeof Manifest> = { overrides: [] };
  try {
    manifest = Manifest.parse(parseYaml(await readFile(join(fixturesDir, 'publisher.yaml'), 'utf8')) ?? {});
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const overrides = new Map(manifest.overrides.map((o) => [o.path, o]));
  const faults = new Map<string, Fault & { served?: number }>();
  const requests: RequestRecord[] = [];

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://publisher');
    const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const record = (status: number) =>
      requests.push({ path, method: req.method ?? 'GET', userAgent: req.headers['user-agent'], ifNoneMatch: req.headers['if-none-match'], status, receivedAt, at: Date.now() });

    if (path === 'healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    if (path.startsWith('_control/') && options.control !== false) {
      await control(req, res, path);
      return;
    }
    const fault = faults.get(path) ?? faults.get('*');
    if (fault) {
      const handled = await applyFault(fault, path, req, res);
      if (handled) {
        record(res.statusCode);
        return;
      }
    }
    const extra = options.extraFiles?.get(path);
    let body: Buffer;
    let contentType: string;
    let extraHeaders: Readonly<Record<string, string>> = {};
    if (extra) {
      extraHeaders = extra.headers ?? {};
      body = extra.body;
      contentType = extra.contentType;
    } else {
      const file = normalize(join(sitesDir, path));
      // Never serve outside sites/ (`..` in the path).
      if (!file.startsWith(sitesDir + '/')) {
        res.writeHead(400).end();
        record(400);
        return;
      }
      try {
        if (!(await stat(file)).isFile()) throw new Error('not a file');
        body = await readFile(file);
      } catch {
        if (path.endsWith('/robots.txt')) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        } else {
          res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<html><body><h1>404 页面不存在</h1></body></html>');
        }
        record(404);
        return;
      }
      contentType = overrides.get(path)?.contentType ?? DEFAULT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    }
    if (fault?.kind === 'content-type') contentType = fault.contentType;
    const etag = `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`;
    const headers: Record<string, string> = { 'content-type': contentType, etag, 'cache-control': 'max-age=60', ...extraHeaders };
    const lastModified = overrides.get(path)?.lastModified;
    if (lastModified) headers['last-modified'] = lastModified;
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      record(304);
      return;
    }
    headers['content-length'] = String(body.length);
    res.writeHead(200, headers);
    if (fault?.kind === 'slow' && fault.trickleMs) {
      const chunks = 10;
      const size = Math.ceil(body.length / chunks);
      for (let i = 0; i < chunks && !res.destroyed; i += 1) {
        res.write(body.subarray(i * size, (i + 1) * size));
        await sleep(fault.trickleMs / chunks);
      }
      res.end();
    } else {
      res.end(body);
    }
    record(200);
  }

  /** Returns true when the fault produced the whole response. */
  async function applyFault(fault: Fault & { served?: number }, path: string, _req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    switch (fault.kind) {
      case 'status': {
        fault.served = (fault.served ?? 0) + 1;
        if (fault.times !== undefined && fault.served > fault.times) return false;
        const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' };
        if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
        res.writeHead(fault.status, headers).end(`<html><body>${fault.status}</body></html>`);
        return true;
      }
      case 'slow':
        await sleep(fault.delayMs);
        return false;
      case 'redirect-loop': {
        const [host, ...rest] = path.split('/');
        const other = path.endsWith('.loop') ? `/${host}/${rest.join('/').replace(/\.loop$/, '')}` : `/${path}.loop`;
        if (!path.endsWith('.loop')) faults.set(`${path}.loop`, fault);
        res.writeHead(302, { location: other }).end();
        return true;
      }
      case 'redirect':
        res.writeHead(fault.status ?? 302, { location: fault.location }).end();
        return true;
      case 'oversized': {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        while (sent < fault.bytes && !res.destroyed) {
          const ok = res.write(chunk);
          sent += chunk.length;
          if (!ok) await new Promise((r) => res.once('drain', r));
        }
        res.end();
        return true;
      }
      case 'body':
        res.writeHead(fault.status ?? 200, { 'content-type': fault.contentType ?? 'text/html; charset=utf-8' }).end(fault.body);
        return true;
      case 'content-type':
        return false;
    }
  }

  async function control(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === '_control/faults' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const parsed = z.object({ path: z.string(), fault: Fault }).safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
      if (!parsed.success) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: parsed.error.message }));
        return;
      }
      faults.set(parsed.data.path, parsed.data.fault);
      res.writeHead(204).end();
      return;
    }
    if (path === '_control/faults' && req.method === 'DELETE') {
      faults.clear();
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404).end();
  }

  const server = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    setFault: (path, fault) => faults.set(path, Fault.parse(fault)),
    clearFaults: () => faults.clear(),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
