/**
 * The canonical text of a page: what a reader sees, minus the parts that change on every visit
 * (scripts, styles, view counters, "current time" widgets). Its sha256 decides whether a page
 * changed: a new view count is not a new document.
 */
import { createHash } from 'node:crypto';
import * as cheerio from 'cheerio';
import { MAX_MARKUP_DEPTH, markupDepth, stripTags } from '@nst/shared/markup';

/** Text patterns of volatile fragments: view counters and visit timestamps (zh and en). */
const VOLATILE_PATTERNS: readonly RegExp[] = [
  /(浏览次数|访问次数|阅读次数|点击数|点击量|浏览量|阅读量|访问量|views?)\s*[:：]?\s*\d[\d,]*/gi,
  /(当前时间|current time|今天是)\s*[:：]?\s*[\d\-/: 年月日星期一二三四五六日]+/gi,
];

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Canonical text of an HTML page (for other content types, use the bytes' hash). */
export function canonicalText(html: string): string {
  // Too deep to parse in bounded time: the tags are stripped instead (the archive still keeps the
  // page, and the normalizer refuses it with its reason).
  if (markupDepth(html) > MAX_MARKUP_DEPTH) return withoutVolatile(stripTags(html));
  const $ = cheerio.load(html);
  $('script, style, noscript, iframe, template, link, meta').remove();
  $('[class*="counter"], [id*="counter"], [class*="visit"], [id*="visit"], [class*="views"], [id*="views"]').remove();
  // Cells and blocks are separate words: "指标 1,834.52", not "指标1,834.52".
  $('td, th, tr, p, div, li, br, h1, h2, h3, h4, h5, h6, span, a').after(' ');
  return withoutVolatile($.root().text());
}

function withoutVolatile(text: string): string {
  let out = text;
  for (const pattern of VOLATILE_PATTERNS) out = out.replace(pattern, '');
  return out.replace(/\s+/g, ' ').trim();
}

/** sha256 of the canonical form: text for HTML, bytes for anything else. */
export function canonicalHash(body: Buffer, text: string | undefined, isHtml: boolean): string {
  return isHtml && text !== undefined ? sha256(canonicalText(text)) : sha256(body);
}
