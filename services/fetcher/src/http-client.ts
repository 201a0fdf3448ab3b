/**
 * One polite, bounded HTTP GET: identifying User-Agent, connect and total timeouts, a body size
 * cap, conditional GET, and redirects followed by hand so every hop is re-checked by the guard.
 * Errors come out typed: retryable (network, 5xx, 408, 429 with its Retry-After) or not (other
 * 4xx, refused, too large, redirect loop).
 *
 * The client is undici's `request`: about 0.2 ms of CPU a request, where axios with the same
 * options took 0.45 (3,000 GETs of a 20 KB page over 8 connections, both in one process). It hands
 * the body over as sent; the content codings are undone with zlib's synchronous decoders, bounded
 * by the same size cap (undici's decompress interceptor is marked experimental).
 */
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { brotliDecompressSync, constants as zlib, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { Agent, request, type Dispatcher } from 'undici';
import { NonRetryableError, RetryableError } from '@nst/shared/errors';
import type { Guard } from './ssrf';
import { toRealUrl, toRequestUrl, type UrlMapOptions } from './url-map';

/** Options for {@link httpGet}. */
export interface HttpGetOptions {
  guard: Guard;
  urlMap: UrlMapOptions;
  userAgent: string;
  /** Socket connect/idle timeout in ms. */
  connectTimeoutMs: number;
  /** Whole request, headers and body, in ms. */
  totalTimeoutMs: number;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Redirect hops followed. */
  maxRedirects: number;
  /** Conditional GET validators from the last archived copy. */
  etag?: string | null;
  lastModified?: string | null;
  /** Content types accepted (prefix match); default any text/HTML/spreadsheet type. */
  accept?: readonly string[];
}

export interface HttpGetResult {
  /** 200 (body present) or 304 (unchanged; body empty). */
  status: number;
  /** The real URL after redirects. */
  finalUrl: string;
  headers: Record<string, string>;
  body: Buffer;
  redirects: string[];
}

export const DEFAULT_ACCEPTED_TYPES = [
  'text/html',
  'application/xhtml+xml',
  'text/plain',
  'text/xml',
  'application/xml',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-excel',
  'application/octet-stream',
] as const;

/** Parse Retry-After (seconds or an HTTP date) into milliseconds, capped at ten minutes. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), 600_000);
}

function flatHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined || value === null) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** The guard's resolution as `net.connect` calls it: every connection's addresses are checked before it is made. */
function connectLookup(guard: Guard): LookupFunction {
  return (hostname, options, callback) => {
    guard.lookup(hostname, options).then(([addresses]) => {
      const first = addresses[0];
      if (!first) callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 4);
      else if (options.all) callback(null, addresses as LookupAddress[]);
      else callback(null, first.address, first.family);
    }, (error: Error) => callback(error, '', 4));
  };
}

/** Connection pools (kept alive between requests), one per guard and connect timeout. */
const agents = new WeakMap<Guard, Map<number, Agent>>();

function agentFor(guard: Guard, connectTimeoutMs: number): Agent {
  let byTimeout = agents.get(guard);
  if (!byTimeout) agents.set(guard, (byTimeout = new Map()));
  let agent = byTimeout.get(connectTimeoutMs);
  if (!agent) {
    agent = new Agent({ connect: { timeout: connectTimeoutMs, lookup: connectLookup(guard) } });
    byTimeout.set(connectTimeoutMs, agent);
  }
  return agent;
}

const tooLarge = (url: string, maxBytes: number) => new NonRetryableError('body_too_large', `body of ${url} exceeds ${maxBytes} bytes`);

/** Error codes of undici's own timeouts (connect, and no headers or no body data for the idle time). */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED', 'ETIMEDOUT']);

function classifyTransportError(error: unknown, url: string, options: HttpGetOptions): Error {
  if (error instanceof NonRetryableError || error instanceof RetryableError) return error;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof NonRetryableError) return cause; // the guard's lookup refused a DNS answer
  const { code, name, message = String(error) } = error as { code?: string; name?: string; message?: string };
  // The total timeout aborts the request (its signal's reason, a TimeoutError); undici's idle ones have codes.
  if (name === 'TimeoutError' || name === 'AbortError' || (code !== undefined && TIMEOUT_CODES.has(code))) {
    return new RetryableError('timeout', `${url}: no complete response within ${options.totalTimeoutMs} ms`, { cause: error });
  }
  return new RetryableError('network_error', `${url}: ${code ?? ''} ${message}`.trim(), { cause: error });
}

// As sent over a connection that closed early, a body decodes as far as it goes (as curl and browsers do).
const gunzip = (body: Buffer, maxOutputLength: number) => gunzipSync(body, { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength });

/** zlib's decoders for the content codings a server may send; each output bounded by the size cap. */
const DECODERS: Record<string, (body: Buffer, maxOutputLength: number) => Buffer> = {
  gzip: gunzip,
  'x-gzip': gunzip,
  // HTTP's deflate is zlib-wrapped, but some servers send it raw.
  deflate: (body, maxOutputLength) => {
    try {
      return inflateSync(body, { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw error;
      return inflateRawSync(body, { finishFlush: zlib.Z_SYNC_FLUSH, maxOutputLength });
    }
  },
  br: (body, maxOutputLength) => brotliDecompressSync(body, { maxOutputLength }),
};

/** The body as the server meant it: every content coding undone, last applied first. */
function decodeBody(body: Buffer, contentEncoding: string | undefined, url: string, maxBytes: number): Buffer {
  const codings = (contentEncoding ?? '').split(',').map((coding) => coding.trim().toLowerCase()).filter((coding) => coding !== '' && coding !== 'identity');
  let decoded = body;
  for (const coding of codings.reverse()) {
    const decode = DECODERS[coding];
    if (!decode) throw new NonRetryableError('unsupported_content_encoding', `${url}: content coding ${coding} is not one of ${Object.keys(DECODERS).join(', ')}`);
    try {
      decoded = decode(decoded, maxBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(url, maxBytes);
      throw new RetryableError('network_error', `${url}: body does not decode as ${coding}: ${(error as Error).message}`, { cause: error });
    }
  }
  return decoded;
}

/** The body as received, refused once it passes `maxBytes` (whether or not a Content-Length said so). */
async function readBody(response: Dispatcher.ResponseData, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (declared > maxBytes) {
    response.body.destroy();
    throw tooLarge(url, maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop (the throw) destroys the stream, and with it the connection.
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge(url, maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export async function httpGet(realUrl: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const redirects: string[] = [];
  const seen = new Set<string>();
  let current = realUrl;
  const signal = AbortSignal.timeout(options.totalTimeoutMs);
  const dispatcher = agentFor(options.guard, options.connectTimeoutMs);
  for (;;) {
    options.guard.checkRealUrl(current);
    if (seen.has(current)) throw new NonRetryableError('redirect_loop', `redirect loop at ${current} (after ${redirects.length} hops)`);
    seen.add(current);
    const requestUrl = toRequestUrl(current, options.urlMap);
    options.guard.checkRequestUrl(requestUrl);
    const headers: Record<string, string> = {
      'user-agent': options.userAgent,
      accept: 'text/html,application/xhtml+xml,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,*/*;q=0.5',
      'accept-language': 'zh-CN,zh;q=0.9,en;q=0.6',
      'accept-encoding': 'gzip, deflate, br',
    };
    // Validators only make sense for the URL they were stored for.
    if (current === realUrl && options.etag) headers['if-none-match'] = options.etag;
    if (current === realUrl && options.lastModified) headers['if-modified-since'] = options.lastModified;
    let response: Dispatcher.ResponseData;
    try {
      // The connect timeout is also the longest wait for the headers and between two pieces of the body.
      response = await request(requestUrl, { dispatcher, headers, signal, headersTimeout: options.connectTimeoutMs, bodyTimeout: options.connectTimeoutMs });
    } catch (error) {
      throw classifyTransportError(error, current, options);
    }
    // A body given up on (too large, not a page) is destroyed, which undici reports as an 'error'
    // event: with no listener, that would end the process. Reading it still sees every error.
    response.body.on('error', () => undefined);
    const status = response.statusCode;
    const responseHeaders = flatHeaders(response.headers);
    // Every answer but a page's is thrown away unread, up to a bound, so its connection can serve again.
    if (status !== 200) await response.body.dump().catch(() => undefined);
    if (status >= 300 && status < 400 && status !== 304) {
      const location = responseHeaders.location;
      if (!location) throw new NonRetryableError('bad_redirect', `${current}: ${status} without Location`);
      if (redirects.length >= options.maxRedirects) {
        throw new NonRetryableError('too_many_redirects', `${realUrl}: more than ${options.maxRedirects} redirects`);
      }
      const next = toRealUrl(new URL(location, requestUrl).toString(), options.urlMap);
      redirects.push(next);
      current = next;
      continue;
    }
    if (status === 304) return { status, finalUrl: current, headers: responseHeaders, body: Buffer.alloc(0), redirects };
    if (status === 429 || status === 408 || status >= 500) {
      throw new RetryableError(`http_${status}`, `${current}: HTTP ${status}`, {
        retryAfterMs: parseRetryAfter(responseHeaders['retry-after']),
      });
    }
    if (status >= 400) throw new NonRetryableError(`http_${status}`, `${current}: HTTP ${status}`);
    if (status !== 200) throw new NonRetryableError(`http_${status}`, `${current}: unexpected HTTP ${status}`);
    const contentType = (responseHeaders['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const accepted = options.accept ?? DEFAULT_ACCEPTED_TYPES;
    if (contentType && !accepted.some((type) => contentType.startsWith(type))) {
      response.body.destroy();
      throw new NonRetryableError('unexpected_content_type', `${current}: content type ${contentType} is not a page or a spreadsheet`);
    }
    let body: Buffer;
    try {
      body = await readBody(response, current, options.maxBytes);
    } catch (error) {
      throw classifyTransportError(error, current, options);
    }
    const contentEncoding = responseHeaders['content-encoding'];
    if (contentEncoding === undefined) return { status, finalUrl: current, headers: responseHeaders, body, redirects };
    // The body is kept decoded, so its headers no longer name a coding (as axios left them).
    const { 'content-encoding': _coding, ...decodedHeaders } = responseHeaders;
    return { status, finalUrl: current, headers: decodedHeaders, body: decodeBody(body, contentEncoding, current, options.maxBytes), redirects };
  }
}
