import { describe, expect, it } from 'vitest';
import { MAX_MARKUP_DEPTH, markupDepth, stripTags } from './markup';

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

describe('stripTags', () => {
  it('keeps the text, drops tags, comments, scripts and styles', () => {
    expect(stripTags('<p>一<b>二</b></p><!-- x --><script>var y;</script><style>.z{}</style>三').replace(/\s+/g, ' ').trim()).toBe('一 二 三');
  });
});
