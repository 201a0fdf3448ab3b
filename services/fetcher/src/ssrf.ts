/**
 * The SSRF guard. A fetch may only reach: http(s) URLs whose host is in the source registry, at
 * public unicast addresses. The one exception is the configured offline publisher. The guard runs
 * on the real URL before the request, on every redirect hop, and again at connect time on the
 * addresses DNS actually returned (so a registry name that resolves to 10.x is refused too, and a
 * rebinding DNS answer cannot slip past a check made earlier).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { NonRetryableError } from '@nst/shared/errors';

export class FetchRefusedError extends NonRetryableError {
  readonly url: string;
  constructor(code: 'ssrf_scheme' | 'ssrf_host_not_allowed' | 'ssrf_private_address' | 'ssrf_bad_url', url: string, message: string) {
    super(code, message);
    this.name = 'FetchRefusedError';
    this.url = url;
  }
}

/** Options for {@link createGuard}. */
export interface GuardOptions {
  /** Hosts of the source registry (`host` or `host:port`, lower case). */
  allowedHosts: Iterable<string>;
  /** Origin of the offline publisher (e.g. `http://127.0.0.1:8720`); the only private address allowed. */
  publisherOrigin?: string;
  /** DNS resolution; default `dns.promises.lookup` with `all: true`. Tests pass their own. */
  resolve?: (hostname: string) => Promise<Array<{ address: string; family: number }>>;
}

export interface Guard {
  /** Check a real (registry-space) URL: scheme, literal address, allow-list. */
  checkRealUrl(url: string): void;
  /** Check the URL actually requested (the publisher's, offline). */
  checkRequestUrl(url: string): void;
  /** Resolution for every connection (see the HTTP client): resolves, then refuses any non-public address unless it is the publisher. */
  lookup(hostname: string, options: object): Promise<[Array<{ address: string; family: 4 | 6 }>, (4 | 6)?]>;
}

/** The range name of an address (`unicast` is the only public one), IPv4-mapped IPv6 unwrapped. */
export function addressRange(address: string): string {
  const parsed = ipaddr.process(address.replace(/^\[|\]$/g, ''));
  return parsed.range();
}

function isPublic(address: string): boolean {
  try {
    return addressRange(address) === 'unicast';
  } catch {
    return false;
  }
}

function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new FetchRefusedError('ssrf_bad_url', url, `not a URL: ${JSON.stringify(url.slice(0, 200))}`);
  }
}

/** Hosts that may be an IP literal: digits, dots and hex digits (IPv4 in any notation), or a colon (IPv6). */
const IP_LITERAL = /^[\d.a-fx]+$|:/i;

export function createGuard(options: GuardOptions): Guard {
  const allowed = new Set([...options.allowedHosts].map((host) => host.toLowerCase()));
  const publisher = options.publisherOrigin ? new URL(options.publisherOrigin) : undefined;
  const resolve = options.resolve ?? ((hostname: string) => dnsLookup(hostname, { all: true, verbatim: true }));
  const isPublisher = (url: URL) => publisher !== undefined && url.origin === publisher.origin;

  function checkScheme(url: URL, raw: string): void {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new FetchRefusedError('ssrf_scheme', raw, `refused ${url.protocol} URL: only http and https are fetched`);
    }
  }

  function checkLiteral(url: URL, raw: string): void {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // The URL parser has already written any IPv4 literal as dotted decimal and bracketed any IPv6
    // one; only such a host is handed to ipaddr, whose parse of a name throws and catches (80 µs).
    if (IP_LITERAL.test(host) && ipaddr.isValid(host) && !isPublic(host) && !isPublisher(url)) {
      throw new FetchRefusedError('ssrf_private_address', raw, `refused ${host}: ${addressRange(host)} address`);
    }
  }

  return {
    checkRealUrl(raw) {
      const url = parseUrl(raw);
      checkScheme(url, raw);
      checkLiteral(url, raw);
      if (!allowed.has(url.host.toLowerCase()) && !allowed.has(url.hostname.toLowerCase())) {
        throw new FetchRefusedError('ssrf_host_not_allowed', raw, `refused host ${url.host}: not in the source registry`);
      }
    },
    checkRequestUrl(raw) {
      const url = parseUrl(raw);
      checkScheme(url, raw);
      checkLiteral(url, raw);
    },
    async lookup(hostname) {
      const answers = await resolve(hostname);
      for (const answer of answers) {
        const viaPublisher = publisher !== undefined && hostname === publisher.hostname;
        if (!isPublic(answer.address) && !viaPublisher) {
          throw new FetchRefusedError(
            'ssrf_private_address',
            hostname,
            `refused ${hostname}: resolves to ${answer.address} (${addressRange(answer.address)} address)`,
          );
        }
      }
      return [answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }))];
    },
  };
}
