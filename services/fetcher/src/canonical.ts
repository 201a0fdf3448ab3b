/**
 * The canonical text of a page: what a reader sees, minus the parts that change on every visit
 * (scripts, styles, view counters, "current time" widgets). Its sha256 decides whether a page
 * changed: a new view count is not a new document.
 *
 * Computed in one streaming pass of htmlparser2's `Parser` (no DOM): a few counters say whether
 * the current text is inside a dropped element, nothing else is kept per element.
 */
import { createHash } from 'node:crypto';
import { Parser, Tokenizer, type TokenizerCallbacks } from 'htmlparser2';
import { MAX_MARKUP_DEPTH } from '@nst/shared/markup';

/**
 * Version of the canonical form, stored with each archived copy (`raw.document.canonical_version`).
 * Bump it whenever {@link canonicalText} can give another text for the same page: a copy hashed
 * under an older version is re-hashed from its stored text before it is compared, so a deploy
 * does not archive every page again (`jobs/fetch-source.ts`).
 * 1: a cheerio (parse5) DOM; 2: the streaming parser.
 */
export const CANONICAL_VERSION = 2;

/** Text patterns of volatile fragments: view counters and visit timestamps (zh and en). */
const VOLATILE_PATTERNS: readonly RegExp[] = [
  /(浏览次数|访问次数|阅读次数|点击数|点击量|浏览量|阅读量|访问量|views?)\s*[:：]?\s*\d[\d,]*/gi,
  /(当前时间|current time|今天是)\s*[:：]?\s*[\d\-/: 年月日星期一二三四五六日]+/gi,
];

/** Elements whose content no reader sees. (link and meta are void: they hold no text anyway.) */
const HIDDEN_ELEMENTS = new Set(['script', 'style', 'noscript', 'iframe', 'template']);

/** A class or id containing one of these marks a view counter or visit widget (CSS `[class*=…]`, case-sensitive). */
const VOLATILE_MARKS = ['counter', 'visit', 'views'];

/** Cells and blocks are separate words: "指标 1,834.52", not "指标1,834.52". */
const SPACED_ELEMENTS = new Set(['td', 'th', 'tr', 'p', 'div', 'li', 'br', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'span', 'a']);

/**
 * htmlparser2 also stacks one entry per svg/math (and per title, desc, mi…) it opens, and an implied
 * close never pops it; past this many such elements the page is read flat (see {@link streamText}).
 */
const MAX_FOREIGN_CONTEXTS = 10_000;
const FOREIGN_CONTEXT_ELEMENTS = new Set(['svg', 'math', 'mi', 'mo', 'mn', 'ms', 'mtext', 'annotation-xml', 'foreignobject', 'desc', 'title']);

/** Elements whose content the tokenizer passes through as raw text. */
const RAW_TEXT_ELEMENTS = new Set(['script', 'style']);

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Canonical text of an HTML page (for other content types, use the bytes' hash). */
export function canonicalText(html: string): string {
  // The archive stores the text without NUL (PostgreSQL text cannot hold it): drop it here too, so
  // a page and its stored text have one canonical text (old copies are re-hashed from that text).
  const markup = html.includes('\u0000') ? html.replaceAll('\u0000', '') : html;
  return withoutVolatile(streamText(markup) ?? flatText(markup));
}

function isVolatile(attribs: Record<string, string>): boolean {
  const { class: className = '', id = '' } = attribs;
  // A loop, not `some` with a closure: this runs for every start tag of every page fetched.
  for (const mark of VOLATILE_MARKS) if (className.includes(mark) || id.includes(mark)) return true;
  return false;
}

/**
 * The visible text, by the parser's events. `undefined` when the markup nests deeper than
 * MAX_MARKUP_DEPTH (or opens too many foreign elements).
 *
 * Why the bound stays although nothing here builds a tree: htmlparser2's `Parser` keeps its own
 * stack of open elements (an `unshift` per start tag, an `indexOf` per end tag), so its cost grows
 * with depth × tags: 100 000 nested `<div>` took 5 s, and 100 000 stray end tags under them 26 s.
 * `depth` mirrors that stack exactly (the parser reports every close, implied ones included), so
 * stopping past the bound keeps each event O(MAX_MARKUP_DEPTH) and the whole pass linear. The old
 * pre-scan (`markupDepth`) is gone: it is only an estimate of this parser's stack (`<li><p>`
 * repeated nests here), costs a second pass, and is itself quadratic on `<a <a <a …`.
 */
function streamText(html: string): string | undefined {
  const out: string[] = [];
  let depth = 0;
  let foreignContexts = 0;
  let overflow = false;
  // Open elements inside the outermost hidden (script…) / volatile (counter…) element, itself included.
  let hidden = 0;
  let volatile = 0;
  // out.length when the outermost volatile element opened: its text is cut back to here.
  let volatileStart = 0;
  // The volatile element was closed by an implied end tag; the next event tells why (see settle).
  // Meanwhile the spaces it and the elements closed with it would leave are only noted.
  let unsettled = false;
  let rootSpaced = false;
  let runSpaced = false;

  /**
   * A volatile element closed inside the page is dropped with its text. One still open at the end
   * of the page (closed only by `</body>`, `</html>` or the end of input) is kept: a reader sees the
   * rest of the page there, and dropping it would hide every later change of the page, whereas
   * keeping it costs at most an extra archived copy when its number changes.
   */
  const settle = (keep: boolean) => {
    if (!keep) out.length = volatileStart;
    if ((keep && rootSpaced) || runSpaced) out.push(' ');
    unsettled = false;
  };

  const parser = new Parser(
    {
      // Counted by name, not by onopentag: the parser stacks the element here, even if the input
      // ends inside its start tag (and onopentag never comes), and it will report its close.
      onopentagname(name) {
        if (unsettled) settle(false);
        depth += 1;
        if (FOREIGN_CONTEXT_ELEMENTS.has(name)) foreignContexts += 1;
        if (depth > MAX_MARKUP_DEPTH || foreignContexts > MAX_FOREIGN_CONTEXTS) {
          overflow = true;
          parser.pause();
        }
        if (hidden > 0) hidden += 1;
        if (volatile > 0) volatile += 1;
      },
      onopentag(name, attribs) {
        if (hidden > 0) return;
        if (HIDDEN_ELEMENTS.has(name)) hidden = 1;
        else if (volatile === 0 && isVolatile(attribs)) {
          volatile = 1;
          volatileStart = out.length;
        }
      },
      ontext(text) {
        // A void volatile element (`<img class="views">`) closes implied, right before its next sibling.
        if (unsettled) settle(false);
        if (hidden === 0) out.push(text);
      },
      onclosetag(name, implied) {
        depth -= 1;
        if (unsettled) {
          // Implied closes come in a run that ends with the event that caused them: an end tag
          // (this one, if not implied), a start tag, or the end of input.
          if (implied) {
            runSpaced ||= SPACED_ELEMENTS.has(name);
            return;
          }
          settle(name === 'body' || name === 'html');
        }
        if (hidden > 0) {
          hidden -= 1;
          if (volatile > 0) volatile -= 1;
          return;
        }
        if (volatile > 0 && (volatile -= 1) === 0) {
          // A dropped element leaves no space either.
          if (!implied) out.length = volatileStart;
          else {
            unsettled = true;
            rootSpaced = SPACED_ELEMENTS.has(name);
            runSpaced = false;
          }
          return;
        }
        if (SPACED_ELEMENTS.has(name)) out.push(' ');
      },
      onend() {
        if (unsettled) settle(true);
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  if (overflow) return undefined;
  parser.end();
  return out.join('');
}

/**
 * The text of markup past the bounds, by htmlparser2's `Tokenizer` alone: no element stack, so
 * linear at any depth. Every tag is a space, script and style contents and comments are dropped,
 * entities decoded; counters are not recognized (without elements there is no extent to drop): a
 * page this deep is no page anyone reads, and its hash only has to notice a change.
 */
function flatText(html: string): string {
  const out: string[] = [];
  let rawText = false;
  const ignore = () => undefined;
  const callbacks: TokenizerCallbacks = {
    onopentagname(start, end) {
      rawText = RAW_TEXT_ELEMENTS.has(html.slice(start, end).toLowerCase());
      out.push(' ');
    },
    onclosetag() {
      rawText = false;
      out.push(' ');
    },
    // `<script/>` does not start raw text.
    onselfclosingtag() {
      rawText = false;
    },
    ontext(start, end) {
      if (!rawText) out.push(html.slice(start, end));
    },
    ontextentity(codepoint) {
      if (!rawText) out.push(String.fromCodePoint(codepoint));
    },
    onattribdata: ignore,
    onattribentity: ignore,
    onattribend: ignore,
    onattribname: ignore,
    oncdata: ignore,
    oncomment: ignore,
    ondeclaration: ignore,
    onend: ignore,
    onopentagend: ignore,
    onprocessinginstruction: ignore,
  };
  const tokenizer = new Tokenizer({ decodeEntities: true }, callbacks);
  tokenizer.write(html);
  tokenizer.end();
  return out.join('');
}

function withoutVolatile(text: string): string {
  let out = text;
  for (const pattern of VOLATILE_PATTERNS) out = out.replace(pattern, '');
  return out.replace(/\s+/g, ' ').trim();
}

/**
 * `raw.document.canonical_version` of a URL's first archived HTML copy, whose `sha256_canonical` is
 * {@link firstCopyHash} until the URL is fetched again. A first copy is compared with nothing, and a
 * discovered document is never fetched again (but with `--force`): its canonical text, half a
 * millisecond of a 20 KB page, is worked out from its stored text when a fetch of the URL needs it,
 * as for a copy of an older version (`jobs/fetch-source.ts`).
 */
export const FIRST_COPY_VERSION = 0;

/**
 * The placeholder hash of a URL's first copy: one per URL, so that duplicate jobs of a first fetch,
 * racing, still archive one copy (the archive's unique key is source, URL and this hash).
 */
export function firstCopyHash(url: string): string {
  return sha256(`first copy of ${url}`);
}

/** sha256 of the canonical form: text for HTML, bytes for anything else. */
export function canonicalHash(body: Buffer, text: string | undefined, isHtml: boolean): string {
  return isHtml && text !== undefined ? sha256(canonicalText(text)) : sha256(body);
}
