import { describe, expect, it } from 'vitest';
import { textContent } from 'domutils';
import { MAX_MARKUP_DEPTH, markupDepth, parseHtmlWithin, stripTags } from './markup';

describe('markupDepth', () => {
  it('counts nesting of elements that hold others', () => {
    expect(markupDepth('<html><body><div><span>x</span></div></body></html>')).toBe(4);
    expect(markupDepth('<div></div><div><div></div></div>')).toBe(2);
  });

  it('does not count void elements, optional end tags, self-closing tags, comments or script text', () => {
    const flat = '<p>a<p>b<ul><li>x<li>y</ul><br><img src=x><div/><!-- <div><div> --><script>if (a<b) {"<div><div>"}</script>';
    expect(markupDepth(flat)).toBe(1);
    expect(markupDepth('<table><tr><td>1<td>2<tr><td>3</table>')).toBe(1);
  });

  it('sees 100 000 nested tags in linear time, far past the bound real pages keep', () => {
    const started = performance.now();
    expect(markupDepth(`${'<div>'.repeat(100_000)}x${'</div>'.repeat(100_000)}`)).toBe(100_000);
    expect(markupDepth('<span>'.repeat(50_000))).toBe(50_000);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(MAX_MARKUP_DEPTH).toBeGreaterThanOrEqual(256);
  });
});

describe('markupDepth on unclosed tags', () => {
  it('reads a page of tags that never close in one pass', () => {
    // Each `<a ` / `<script ` without `>` is no tag; a quadratic scan would take minutes here.
    expect(markupDepth('<a '.repeat(200_000))).toBe(0);
    expect(markupDepth(`<div>${'<script '.repeat(200_000)}</div>`)).toBe(1);
    expect(stripTags(`x${'<a '.repeat(200_000)}<b>y</b>`).endsWith(' y ')).toBe(true);
  });
});

describe('parseHtmlWithin', () => {
  it('parses a page into a DOM', () => {
    const dom = parseHtmlWithin('<html><body><table><tr><td>指标</td><td>1,834.52</td></tr></table></body></html>');
    expect(dom && textContent(dom)).toBe('指标1,834.52');
  });

  it('bounds the nesting as the parser builds it, exactly', () => {
    const nested = (n: number) => `${'<div>'.repeat(n)}x${'</div>'.repeat(n)}`;
    expect(parseHtmlWithin(nested(MAX_MARKUP_DEPTH))).toBeDefined();
    expect(parseHtmlWithin(nested(MAX_MARKUP_DEPTH + 1))).toBeUndefined();
  });

  it('stops at the bound on markup the scan counts as flat', () => {
    // htmlparser2 does not let <li> close an open <p>: the list nests one level per item.
    const list = `<ul>${'<li><p>x'.repeat(200_000)}</ul>`;
    expect(markupDepth(list)).toBe(1);
    expect(parseHtmlWithin(list)).toBeUndefined();
  });
});

describe('stripTags', () => {
  it('keeps the text, drops tags, comments, scripts and styles', () => {
    expect(stripTags('<p>一<b>二</b></p><!-- x --><script>var y;</script><style>.z{}</style>三').replace(/\s+/g, ' ').trim()).toBe('一 二 三');
  });
});
