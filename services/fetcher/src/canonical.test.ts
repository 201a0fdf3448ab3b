import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from './publisher/server';
import { canonicalHash, canonicalText } from './canonical';

const page = (views: number, extra = '') => `<!doctype html><html><head><title>2025年1-10月主要经济指标</title>
<script>var t = ${Date.now()};</script><style>.x{}</style></head><body>
<div class="crumb">当前位置：首页 &gt; 统计数据</div>
<h1>2025年1-10月主要经济指标</h1><span>浏览次数：${views}</span><span id="visitCounter">${views}</span>
<table><tr><td>规模以上工业总产值</td><td>1,834.52</td></tr></table>${extra}</body></html>`;

/** A real-shaped news page whose view count (`<b id="views">2139</b>`) a script fills in. */
const newsPage = readFileSync(`${FIXTURES_DIR}/sites/www.jinshan.gov.cn/jsyw/20250211/6661cdef-f493-4c6b-a3b4-dfe6c96e3d80.html`, 'utf8');

/** Runs `fn` and returns its result with how long it took. */
function timed<T>(fn: () => T): { result: T; ms: number } {
  const started = performance.now();
  const result = fn();
  return { result, ms: performance.now() - started };
}

describe('canonical text', () => {
  it('ignores scripts, styles and view counters', () => {
    expect(canonicalText(page(1234))).toBe(canonicalText(page(98765)));
    expect(canonicalText(page(1))).not.toMatch(/浏览次数|var t|\.x\{/);
    expect(canonicalText(page(1))).toContain('规模以上工业总产值 1,834.52');
  });

  it('reads the title and decodes entities', () => {
    expect(canonicalText(page(1))).toMatch(/^2025年1-10月主要经济指标 当前位置：首页 > 统计数据 2025年1-10月主要经济指标 规模以上/);
    // &nbsp; is whitespace to the collapsing too.
    expect(canonicalText('<p>A&amp;B&nbsp;&#x4e2d;&lt;</p>')).toBe('A&B 中<');
  });

  it('ignores the view counter of a real page', () => {
    expect(newsPage).toContain('<b id="views">2139</b>');
    const text = canonicalText(newsPage);
    expect(canonicalText(newsPage.replace('>2139<', '>98765<'))).toBe(text);
    expect(text).not.toMatch(/2139|getElementById/);
  });

  it('changes when the content changes', () => {
    const a = canonicalHash(Buffer.from(page(1)), page(1), true);
    const b = canonicalHash(Buffer.from(page(1, '<p>修订</p>')), page(1, '<p>修订</p>'), true);
    expect(a).not.toBe(b);
  });

  it('hashes the bytes of anything but HTML', () => {
    const body = Buffer.from('PK\u0003\u0004 not html');
    expect(canonicalHash(body, undefined, false)).toBe(canonicalHash(body, 'other text', false));
  });

  it('separates cells, blocks and line breaks, not inline text', () => {
    expect(canonicalText('<table><tr><th>指标</th><td>1,834.52</td></tr><tr><td>增长</td><td>3.1</td></tr></table>')).toBe('指标 1,834.52 增长 3.1');
    expect(canonicalText('<p>第一段</p><p>第二段<br>第三行</p><ul><li>甲<li>乙</ul>')).toBe('第一段 第二段 第三行 甲 乙');
    expect(canonicalText('<p>规模<b>以上</b><i>工业</i></p>')).toBe('规模以上工业');
  });

  it('drops noscript, iframe and template contents; link and meta carry no text', () => {
    const html = '<head><meta name="x" content="内容"><link rel="stylesheet" href="a.css"></head><body>甲<noscript><p>请启用脚本</p></noscript><iframe>框架</iframe><template><p>模板</p></template>乙</body>';
    expect(canonicalText(html)).toBe('甲乙');
    // An unclosed one ends with its parent (version 1, parse5, read noscript as raw text: the rest was lost).
    expect(canonicalText('<div>甲<noscript><p>请启用脚本</div>乙')).toBe('甲 乙');
  });

  it('drops counters by class or id substring, case-sensitively, with their subtree', () => {
    expect(canonicalText('<div>甲<div class="page-counter"><p>阅读</p><span>42</span></div>乙</div>')).toBe('甲乙');
    expect(canonicalText('<div>甲<em id="visits_total">42</em>乙</div>')).toBe('甲乙');
    expect(canonicalText('<div>甲<em class="x views-count">42</em>乙</div>')).toBe('甲乙');
    // CSS [class*="counter"] is case-sensitive: "Counter" alone is not a mark.
    expect(canonicalText('<div>甲<em class="Counter">42</em>乙</div>')).toBe('甲42乙');
  });

  it('removes volatile text patterns and collapses whitespace', () => {
    expect(canonicalText('<p>  访问量: 1,234 \n\n 当前时间：2026年11月27日 星期五 正文  </p>')).toBe('正文');
    expect(canonicalText('<p>Views 88 | current time 2026-11-27 08:00 body</p>')).toBe('| body');
  });

  it('treats a page and its stored text (NUL dropped) alike', () => {
    expect(canonicalText('<p>甲\u0000乙</p>')).toBe(canonicalText('<p>甲乙</p>'));
  });
});

describe('canonical text of unclosed volatile elements', () => {
  it('ends a counter at the end tag of its parent', () => {
    expect(canonicalText('<div>甲<span class="counter">42</div><table><tr><td>规模以上工业总产值</td></tr></table>')).toBe('甲 规模以上工业总产值');
  });

  it('ends a counter at the element that implies its end', () => {
    expect(canonicalText('<p class="views">42<div>正文</div><p id="counter">7<p>后记</p>')).toBe('正文 后记');
    expect(canonicalText('<table><tr><td class="visit">42<td>1,834.52</table>')).toBe('1,834.52');
  });

  it('keeps the spaces of the elements closed along with a counter, and leaves none for the counter', () => {
    expect(canonicalText('<table><tr><td>甲<td><span class="counter">42</table>乙')).toBe('甲 乙');
    expect(canonicalText('<b>规模<span class="counter">42</b>以上')).toBe('规模以上');
  });

  it('drops a void counter element only', () => {
    expect(canonicalText('<p>甲<img class="views" src="c.gif">乙</p>')).toBe('甲乙');
  });

  it('keeps a counter still open at the end of the page: it must not hide the rest of the page', () => {
    const html = (figure: string) => `<body><p>前言</p><span class="counter">42<table><tr><td>规模以上工业总产值</td><td>${figure}</td></tr></table></body></html>`;
    expect(canonicalText(html('1,834.52'))).toBe('前言 42规模以上工业总产值 1,834.52');
    expect(canonicalText(html('1,900.00'))).not.toBe(canonicalText(html('1,834.52')));
    // The same without </body>, </html>: closed by the end of input.
    expect(canonicalText('<p>前言</p><div id="visit">42<p>正文')).toBe('前言 42正文');
  });
});

describe('canonical text of hostile markup (linear time)', () => {
  it('100 000 nested <div>: past the depth bound, read flat', () => {
    const deep = `<html><body>${'<div>'.repeat(100_000)}规模以上工业总产值 浏览次数：12${'</div>'.repeat(100_000)}</body></html>`;
    const { result, ms } = timed(() => canonicalText(deep));
    expect(result).toBe('规模以上工业总产值');
    expect(ms).toBeLessThan(2_000);
  });

  it('100 000 nested counters: the text around them survives (past the bound counters are not recognized)', () => {
    const deep = `<p>前言</p>${'<span class="counter">'.repeat(100_000)}12345${'</span>'.repeat(100_000)}<p>正文 &amp; 附注</p>`;
    const { result, ms } = timed(() => canonicalText(deep));
    expect(result).toBe('前言 12345 正文 & 附注');
    expect(ms).toBeLessThan(2_000);
  });

  it('nesting just inside the bound is parsed, counters and all', () => {
    const deep = `${'<div>'.repeat(390)}甲<span class="counter">42</span>乙${'</div>'.repeat(390)}`;
    expect(canonicalText(deep)).toBe('甲乙');
  });

  it.each([
    ['100 000 unclosed <div>', () => `${'<div>'.repeat(100_000)}正文`, '正文'],
    ['a stray end tag for each of 250 000 under 300 open elements', () => `${'<div>'.repeat(300)}正文${'</x>'.repeat(250_000)}`, '正文'],
    ['100 000 svg closed by their parent', () => `${'<div><svg></div>'.repeat(100_000)}正文`, '正文'],
    ['100 000 <li><p> (implied closes that do not nest)', () => `${'<li><p>甲'.repeat(100_000)}`, Array(100_000).fill('甲').join(' ')],
    ['1 MB of a start tag that never ends', () => `<p>正文</p>${'<a '.repeat(350_000)}`, '正文'],
    ['100 000 unclosed comments and scripts', () => `<p>正文</p>${'<!--<script '.repeat(100_000)}`, '正文'],
  ])('%s', (_name, make, expected) => {
    const { result, ms } = timed(() => canonicalText(make()));
    expect(result).toBe(expected);
    expect(ms).toBeLessThan(2_000);
  });
});
