/**
 * Bounds on how deep HTML nests, for the stages that parse it. The parsers do work in proportion
 * to depth × size (every start and end tag scans the stack of open elements) and the DOM walkers
 * recurse, so a page of 100 000 nested tags would hold a worker for minutes and then overflow the
 * stack. `parseHtmlWithin` parses with that bound; `markupDepth` is a cheap scan of the markup
 * alone (an estimate of a browser's nesting), used to word a refusal.
 */
import { DomHandler, type Document } from 'domhandler';
import { Parser } from 'htmlparser2';

/**
 * Deepest nesting any stage parses. Real pages nest a few dozen deep (the fixture corpus: 7);
 * browsers stop nesting at 512.
 */
export const MAX_MARKUP_DEPTH = 400;

/** Elements that never hold others (void) or whose end tag is optional: they do not deepen the tree. */
const FLAT_ELEMENTS = new Set([
  'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr',
  'p', 'li', 'dt', 'dd', 'td', 'th', 'tr', 'thead', 'tbody', 'tfoot', 'colgroup', 'option', 'optgroup', 'rb', 'rt', 'rp',
]);

// A tag's attributes stop at the next `<`: with `[^>]*` every unclosed `<a <a <a …` scanned on to
// the end of the input, which made one hostile page quadratic (240 KB: 3 s).
const TAGS = /<!--[\s\S]*?(?:-->|$)|<(script|style)\b[^<>]*>[\s\S]*?(?:<\/\1\s*>|$)|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)\b[^<>]*?(\/?)>/g;

/**
 * How deep the markup nests its elements, by one linear scan of its tags (comments and the insides
 * of script and style skipped). An upper bound of what a parser builds: the parser's repairs only
 * ever close elements.
 */
export function markupDepth(markup: string): number {
  let depth = 0;
  let max = 0;
  for (const match of markup.matchAll(TAGS)) {
    const name = match[3]?.toLowerCase();
    if (!name || FLAT_ELEMENTS.has(name) || match[4] === '/') continue;
    if (match[2] === '/') depth = Math.max(0, depth - 1);
    else max = Math.max(max, (depth += 1));
  }
  return max;
}

/** The text of markup without parsing it: scripts, styles and comments dropped, tags turned into spaces. */
export function stripTags(markup: string): string {
  return markup.replace(TAGS, ' ');
}

/**
 * Parse HTML into a DOM (htmlparser2, what `cheerio/slim` builds) unless the parser's own stack of
 * open elements would grow past `maxDepth` (default MAX_MARKUP_DEPTH): then `undefined`, having
 * stopped at that point. Exact where markupDepth only estimates: htmlparser2 closes fewer elements
 * by implication than a browser (`<li><p>` repeated nests ever deeper), and its work per tag grows
 * with that stack, so a list of 40 000 such items took 9 s to parse and overflowed the DOM walkers.
 */
export function parseHtmlWithin(markup: string, maxDepth: number = MAX_MARKUP_DEPTH): Document | undefined {
  const handler = new DepthBoundedHandler(maxDepth);
  const parser = new Parser(handler);
  parser.write(markup);
  if (handler.tooDeep) return undefined;
  parser.end();
  return handler.root;
}

class DepthBoundedHandler extends DomHandler {
  depth = 0;
  tooDeep = false;
  /**
   * The parser to pause, as the parser hands itself over. Not a callback closing over it: a fresh
   * closure stored into a field on every parse kept the previous parse's parser, and through it
   * its whole DOM, reachable for V8's young-generation collections, so every page's DOM was
   * promoted to the old generation (about 125 KB a page).
   */
  private toPause: Parser | undefined;

  constructor(private readonly maxDepth: number) {
    super();
  }

  override onparserinit(parser: Parser): void {
    super.onparserinit(parser);
    this.toPause = parser;
  }

  // Called for every element the parser stacks (before its attributes are read), and matched by
  // exactly one onclosetag, implied or not.
  onopentagname(): void {
    this.depth += 1;
    if (this.depth > this.maxDepth && !this.tooDeep) {
      this.tooDeep = true;
      this.toPause?.pause();
    }
  }

  override onclosetag(): void {
    this.depth -= 1;
    super.onclosetag();
  }
}
