/**
 * One polite, bounded HTTP GET: identifying User-Agent, connect and total timeouts, a body size
 * cap, conditional GET, and redirects followed by hand so every hop is re-checked by the guard.
 * Errors come out typed: retryable (network, 5xx, 408, 429 with its Retry-After) or not (other
 * 4xx, refused, too large, redirect loop).
 */
import axios, { type AxiosError, type AxiosResponse } from 'axios';
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

function flatHeaders(response: AxiosResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(response.headers ?? {})) {
    if (value === undefined || value === null) continue;
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

function classifyTransportError(error: unknown, url: string, options: HttpGetOptions): Error {
  if (error instanceof NonRetryableError || error instanceof RetryableError) return error;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof NonRetryableError) return cause; // the guard's lookup refused a DNS answer
  const axiosError = error as AxiosError;
  const message = axiosError.message ?? String(error);
  if (/maxContentLength/.test(message)) {
    return new NonRetryableError('body_too_large', `body of ${url} exceeds ${options.maxBytes} bytes`);
  }
  if (axiosError.code === 'ERR_CANCELED' || axiosError.name === 'CanceledError' || /aborted|timeout/i.test(message)) {
    return new RetryableError('timeout', `${url}: no complete response within ${options.totalTimeoutMs} ms`, { cause: error });
  }
  return new RetryableError('network_error', `${url}: ${axiosError.code ?? ''} ${message}`.trim(), { cause: error });
}

export async function httpGet(realUrl: string, options: HttpGetOptions): Promise<HttpGetResult> {
  const redirects: string[] = [];
  const seen = new Set<string>();
  let current = realUrl;
  const signal = AbortSignal.timeout(options.totalTimeoutMs);
  for (;;) {
    options.guard.checkRealUrl(current);
    if (seen.has(current)) throw new NonRetryableError('redirect_loop', `redirect loop at ${current} (after ${redirects.length} hops)`);
    seen.add(current);
    const requestUrl = toRequestUrl(current, options.urlMap);
    options.guard.checkRequestUrl(requestUrl);
    const headers: Record<string, string> = {
      'User-Agent': options.userAgent,
      Accept: 'text/html,application/xhtml+xml,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,*/*;q=0.5',
      'Accept-Language': 'zh-CN,zh;q=0.9,en;q=0.6',
    };
    // Validators only make sense for the URL they were stored for.
    if (current === realUrl && options.etag) headers['If-None-Match'] = options.etag;
    if (current === realUrl && options.lastModified) headers['If-Modified-Since'] = options.lastModified;
    let response: AxiosResponse<ArrayBuffer>;
    try {
      response = await axios.get<ArrayBuffer>(requestUrl, {
        responseType: 'arraybuffer',
        headers,
        maxRedirects: 0,
        maxContentLength: options.maxBytes,
        timeout: options.connectTimeoutMs,
        signal,
        proxy: false,
        lookup: options.guard.lookup,
        validateStatus: () => true,
      });
    } catch (error) {
      throw classifyTransportError(error, current, options);
    }
    const status = response.status;
    const responseHeaders = flatHeaders(response);
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
      throw new NonRetryableError('unexpected_content_type', `${current}: content type ${contentType} is not a page or a spreadsheet`);
    }
    return { status, finalUrl: current, headers: responseHeaders, body: Buffer.from(response.data), redirects };
  }
}
