/**
 * The offline switch: real publisher URLs are mapped onto the offline publisher as
 * `${publisher}/${host}${path}${query}` at request time only. Everything stored and every
 * allow-list decision uses the real URL, so the registry is never edited for offline runs.
 */

/** Options shared by the mapping functions. */
export interface UrlMapOptions {
  /** Map onto the publisher; when false the functions are the identity. */
  offline: boolean;
  /** Base URL of the offline publisher, e.g. `http://127.0.0.1:8720`. */
  publisherUrl: string;
}

export function toRequestUrl(realUrl: string, options: UrlMapOptions): string {
  if (!options.offline) return realUrl;
  const real = new URL(realUrl);
  const base = new URL(options.publisherUrl);
  base.pathname = `/${real.host}${real.pathname}`;
  base.search = real.search;
  return base.toString();
}

/**
 * The real URL a publisher URL stands for (used for redirects the publisher sends). A URL that
 * is not on the publisher is returned unchanged, so the guard judges it as what it is.
 */
export function toRealUrl(requestUrl: string, options: UrlMapOptions): string {
  if (!options.offline) return requestUrl;
  const url = new URL(requestUrl);
  const base = new URL(options.publisherUrl);
  if (url.origin !== base.origin) return requestUrl;
  const [, host, ...rest] = url.pathname.split('/');
  if (!host) return requestUrl;
  return `https://${host}/${rest.join('/')}${url.search}`;
}
