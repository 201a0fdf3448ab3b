/**
 * What every HTML parser needs from a page: decoded text, the DOM, the title, the publication
 * time printed on it, and the readable body text without navigation and scripts.
 */
import { decodeBody } from '@nst/shared/charset';
import { NonRetryableError } from '@nst/shared/errors';
import { MAX_MARKUP_DEPTH, markupDepth, parseHtmlWithin } from '@nst/shared/markup';
import { load, type BasicAcceptedElems, type Cheerio, type SelectorType } from 'cheerio/slim';
import { compile, selectAll, selectOne } from 'css-select';
import type { AnyNode, Document, Element } from 'domhandler';
import { removeElement, textContent } from 'domutils';
import type { ParseInput } from '../records';

/** A page's DOM queried with cheerio: `$(selector)` over the whole page, `$(node)`, `$.root()`. */
export interface PageQuery {
  <T extends AnyNode, S extends string>(selector: S | BasicAcceptedElems<T>): Cheerio<S extends SelectorType ? Element : T>;
  root(): Cheerio<Document>;
  readonly dom: Document;
}

/**
 * One cheerio instance queries every page, each with the page as its root: what `load(dom)` gives,
 * without its cost. `load` defines a class of its own on every call, whose methods close over the
 * page, and V8's young-generation collections kept that class, and through it the page's whole
 * DOM, alive until a full collection: every page's DOM was promoted to the old generation (about
 * 150 KB a page; docs/performance.md). A query from the page (`$(selector)`, then `.find`) sees
 * the page as before; but the result of a traversal carries the shared instance's empty root, so
 * `.filter`, `.closest`, `.parents` or `.not` with a selector that combines a position pseudo-class
 * with a combinator (`tr:first td`) would search that empty root and match nothing. No parser uses
 * one: over the fixture corpus and the benchmark's pages, titles, times, article text and tables
 * read the same as with `load(dom)`. Select from the page instead (`$('tr:first td')`).
 */
const shared = load([]);

function rootOf(this: PageQuery): Cheerio<Document> {
  return shared(this.dom);
}

export function queryPage(dom: Document): PageQuery {
  const query = ((selector: string | BasicAcceptedElems<AnyNode>) => shared(selector, null, dom)) as PageQuery & { dom: Document };
  query.dom = dom;
  query.root = rootOf;
  return query;
}

export interface Page {
  $: PageQuery;
  text: string;
  title: string;
  /** ISO 8601 with the +08:00 offset publishers mean, when the page states a time. */
  publishedAt?: string;
}

/** Share of control characters above which decoded text is binary, not a document. */
const MAX_CONTROL_SHARE = 0.02;

/**
 * The decoded text of the input, refusing what is not text: an empty body and binary garbage
 * fail with a typed non-retryable error (the job records it; retrying cannot help).
 */
export function readInputText(input: ParseInput): string {
  if (input.bytes.length === 0 && !input.text) throw new NonRetryableError('empty_document', 'the document body is empty');
  const text = input.text ?? decodeBody(input.bytes, input.contentType).text;
  if (text.trim() === '') throw new NonRetryableError('empty_document', 'the document body is blank');
  assertLooksLikeText(text);
  return text;
}

function assertLooksLikeText(text: string): void {
  const sample = text.slice(0, 8192);
  // eslint-disable-next-line no-control-regex
  const controls = sample.match(/[\u0000-\u0008\u000E-\u001F\uFFFD]/g)?.length ?? 0;
  if (controls / sample.length > MAX_CONTROL_SHARE) {
    throw new NonRetryableError('unreadable_document', `the body is not text (${controls} control or undecodable characters in the first ${sample.length})`);
  }
}

/** Load an HTML page; cheerio repairs truncated markup, so what survives is still read. */
export function loadPage(input: ParseInput): Page {
  const text = readInputText(input);
  // The parse is bounded by the parser's own stack of open elements: its work grows with depth ×
  // size (see @nst/shared/markup). The markup scan only words the refusal.
  const dom = parseHtmlWithin(text);
  if (!dom) {
    const depth = markupDepth(text);
    throw new NonRetryableError('unreadable_document', depth > MAX_MARKUP_DEPTH
      ? `the markup nests elements ${depth} deep (at most ${MAX_MARKUP_DEPTH} are read)`
      : `the markup nests elements more than ${MAX_MARKUP_DEPTH} deep as parsed (at most ${MAX_MARKUP_DEPTH} are read)`);
  }
  const $ = queryPage(dom);
  // Detached as cheerio's remove() detaches them.
  for (const element of all(UNREAD, dom)) {
    removeElement(element);
    element.prev = element.next = element.parent = null;
  }
  const title = readTitle(dom);
  const publishedAt = readPublishedAt(dom);
  return { $, text, title, ...(publishedAt ? { publishedAt } : {}) };
}

/**
 * The selectors every page is read with, compiled once by css-select (cheerio's engine, with its
 * options for HTML): through cheerio, each query compiled its selector again, a fifth of a
 * table page's parse. `selectOne` is the first match in document order, as cheerio's `first()`
 * and `attr()` read it.
 */
const UNREAD = compile<AnyNode, Element>('script, style, noscript, iframe, svg');
const TITLE_META = compile<AnyNode, Element>('meta[name="ArticleTitle"], meta[property="og:title"], meta[name="title"]');
const HEADING = compile<AnyNode, Element>('.article-title, .title h1, .content-title, #title, .xl-title, h1');
const TITLE = compile<AnyNode, Element>('title');
const TIME_META = compile<AnyNode, Element>('meta[name="PubDate"], meta[name="pubdate"], meta[name="publishdate"], meta[property="article:published_time"], meta[name="firstpublishedtime"]');
const TIME = compile<AnyNode, Element>('time[datetime]');
const BODY = compile<AnyNode, Element>('body');

type Query = ReturnType<typeof compile<AnyNode, Element>>;
const one = (query: Query, dom: Document) => selectOne<AnyNode, Element>(query, dom);
const all = (query: Query, dom: Document) => selectAll<AnyNode, Element>(query, dom);

/** The first match's text, '' when nothing matches. */
const firstText = (query: Query, dom: Document) => {
  const element = one(query, dom);
  return element ? textContent(element) : '';
};

/** The article title: the article heading when there is one, else `<title>` minus the site name. */
function readTitle(dom: Document): string {
  const meta = one(TITLE_META, dom)?.attribs.content?.trim();
  if (meta) return collapse(meta);
  const heading = firstText(HEADING, dom);
  if (collapse(heading) !== '') return collapse(heading);
  const title = collapse(firstText(TITLE, dom));
  // "宝山区2024年统计公报_统计公报_宝山区人民政府" → the first segment is the article.
  return title.split(/\s*[_|｜]\s*|\s+-\s+/)[0] ?? title;
}

/**
 * The publication time: `<meta name="PubDate">` (TRS CMS, used by most Shanghai portals),
 * `article:published_time`, `<time datetime>`, else a "发布时间 / 发布日期 / Updated" line.
 */
function readPublishedAt(dom: Document): string | undefined {
  const metaValue = one(TIME_META, dom)?.attribs.content ?? one(TIME, dom)?.attribs.datetime;
  const fromMeta = metaValue ? toIsoDateTime(metaValue) : undefined;
  if (fromMeta) return fromMeta;
  // Every body's text, as cheerio's text() of the selection reads it.
  const bodyText = collapse(textContent(all(BODY, dom)));
  const labelled = /(?:发布时间|发布日期|发文日期|日期|时间|Updated|Published|Date)\s*[:：]?\s*([^\s|]{6,}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)/i.exec(bodyText);
  if (labelled?.[1]) {
    const iso = toIsoDateTime(labelled[1]);
    if (iso) return iso;
  }
  const english = /\b(?:Updated|Published|Date)\s*[:：]?\s*([A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4})/.exec(bodyText);
  return english?.[1] ? toIsoDateTime(english[1]) : undefined;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * A printed date (and time) → ISO 8601 with an offset. Shanghai pages print local time without a
 * zone, so +08:00 is added; a value that already has a zone keeps it.
 */
export function toIsoDateTime(value: string): string | undefined {
  const text = value.trim();
  const zoned = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})$/.exec(text);
  if (zoned) {
    const zone = zoned[3] === 'Z' ? 'Z' : (zoned[3] ?? '').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
    return `${zoned[1]}T${withSeconds(zoned[2] ?? '00:00')}${zone}`;
  }
  const numeric = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*[T ]?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (numeric) {
    const [, year, month, day, hour = '00', minute = '00', second = '00'] = numeric;
    return localIso(Number(year), Number(month), Number(day), `${hour.padStart(2, '0')}:${minute}:${second}`);
  }
  const english = /^([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})$/.exec(text) ?? /^(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})$/.exec(text);
  if (english) {
    const [monthName, day] = /^\d/.test(english[1] ?? '') ? [english[2], english[1]] : [english[1], english[2]];
    const month = MONTHS.indexOf((monthName ?? '').slice(0, 3).toLowerCase()) + 1;
    if (month > 0) return localIso(Number(english[3]), month, Number(day), '00:00:00');
  }
  return undefined;
}

function localIso(year: number, month: number, day: number, time: string): string | undefined {
  if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1990 || year > 2100) return undefined;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${time}+08:00`;
}

function withSeconds(time: string): string {
  return time.length === 5 ? `${time}:00` : time;
}

/** Collapse runs of whitespace (including the ideographic space) to one space. */
export function collapse(text: string): string {
  return text.replace(/[\s\u3000\u00A0]+/g, ' ').trim();
}

/**
 * The readable text of the article: the main content container when one is recognisable, else
 * the body, with block elements turned into line breaks so paragraphs stay apart.
 */
export function readArticleText($: PageQuery): string {
  const candidates = ['#ivs_content', '.TRS_Editor', '.article-content', '.article_content', '#zoom', '.content', '.xl-content', 'article', '#content', '.main', 'body'];
  const container = candidates.map((selector) => $(selector).first()).find((node) => node.length > 0 && collapse(node.text()).length > 40) ?? $('body');
  const clone = container.clone();
  clone.find('nav, header, footer, .nav, .breadcrumb, .share, .footer, .header, .pagination').remove();
  clone.find('br').replaceWith('\n');
  clone.find('p, div, li, h1, h2, h3, h4, h5, h6, tr, table, section').each((_, element) => {
    $(element).append('\n');
  });
  return clone
    .text()
    .split('\n')
    .map((line) => collapse(line))
    .filter((line) => line !== '')
    .join('\n');
}
