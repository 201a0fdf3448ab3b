/**
 * Discovery on list pages: which links are documents of the source, and which are further list
 * pages. Only links on the source's own host whose path matches the source's patterns count;
 * everything else (other hosts, javascript:, mailto:, navigation) is ignored.
 */
import * as cheerio from 'cheerio/slim';
import { NonRetryableError } from '@nst/shared/errors';
import { MAX_MARKUP_DEPTH, parseHtmlWithin } from '@nst/shared/markup';
import type { Source } from '@nst/shared/seeds';

export interface DiscoveredLinks {
  documents: string[];
  pages: string[];
}

export function discoverLinks(html: string, pageUrl: string, source: Pick<Source, 'url' | 'discovery'>): DiscoveredLinks {
  // A list page nested too deep to parse in bounded time is refused, not parsed: the parse stops
  // at the bound of the parser's own stack (see @nst/shared/markup).
  const dom = parseHtmlWithin(html);
  if (!dom) throw new NonRetryableError('markup_too_deep', `${pageUrl}: the markup nests elements more than ${MAX_MARKUP_DEPTH} deep (at most ${MAX_MARKUP_DEPTH} are read)`);
  const $ = cheerio.load(dom);
  const host = new URL(source.url).host;
  const documentPattern = source.discovery.links ? new RegExp(source.discovery.links) : undefined;
  const pagePattern = source.discovery.pages ? new RegExp(source.discovery.pages) : undefined;
  const documents = new Set<string>();
  const pages = new Set<string>();
  $('a[href]').each((_index, element) => {
    const href = ($(element).attr('href') ?? '').trim();
    if (!href || href.startsWith('#')) return;
    let url: URL;
    try {
      url = new URL(href, pageUrl);
    } catch {
      return;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host !== host) return;
    url.hash = '';
    if (documentPattern?.test(url.pathname)) documents.add(url.toString());
    else if (pagePattern?.test(url.pathname) && url.toString() !== pageUrl) pages.add(url.toString());
  });
  return { documents: [...documents], pages: [...pages] };
}

/** The format a discovered document is parsed with. */
export function documentFormat(url: string, source: Pick<Source, 'format'>): Source['format'] {
  if (/\.xlsx?$/i.test(new URL(url).pathname)) return 'xls';
  if (source.format === 'news-list') return 'news-article';
  return source.format;
}
