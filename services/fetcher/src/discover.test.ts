import { describe, expect, it } from 'vitest';
import { Discovery } from '@nst/shared/seeds';
import { discoverLinks, documentFormat } from './discover';

const source = {
  url: 'https://tjj.sh.gov.cn/ydsj/index.html',
  format: 'stats-table' as const,
  discovery: Discovery.parse({ links: '^/ydsj/\\d{6}/[0-9a-f]+\\.(html|xlsx?)$', pages: '^/ydsj/index_\\d+\\.html$' }),
};

describe('discoverLinks', () => {
  it('keeps same-host links matching the patterns, resolved against the page', () => {
    const html = `<ul>
      <li><a href="/ydsj/202510/ab12cd.html">1-10月</a></li>
      <li><a href="./202509/0f0f0f.html">1-9月</a></li>
      <li><a href="https://tjj.sh.gov.cn/ydsj/202508/abcdef.xlsx">附件</a></li>
      <li><a href="https://tjj.sh.gov.cn/ydsj/202510/ab12cd.html#top">dup</a></li>
      <li><a href="https://www.gov.cn/ydsj/202510/ab12cd.html">other host</a></li>
      <li><a href="javascript:void(0)">js</a> <a href="mailto:x@y.cn">mail</a> <a href="/tjgb/index.html">nav</a></li>
      <li><a href="index_1.html">2</a> <a href="index_2.html">3</a> <a href="index.html">1</a></li></ul>`;
    const links = discoverLinks(html, 'https://tjj.sh.gov.cn/ydsj/index.html', source);
    expect(links.documents.sort()).toEqual([
      'https://tjj.sh.gov.cn/ydsj/202508/abcdef.xlsx',
      'https://tjj.sh.gov.cn/ydsj/202509/0f0f0f.html',
      'https://tjj.sh.gov.cn/ydsj/202510/ab12cd.html',
    ]);
    expect(links.pages.sort()).toEqual(['https://tjj.sh.gov.cn/ydsj/index_1.html', 'https://tjj.sh.gov.cn/ydsj/index_2.html']);
  });

  it('gives attachments the xls format and news links the article format', () => {
    expect(documentFormat('https://tjj.sh.gov.cn/ydsj/202508/abcdef.xlsx', source)).toBe('xls');
    expect(documentFormat('https://tjj.sh.gov.cn/ydsj/202508/abcdef.html', source)).toBe('stats-table');
    expect(documentFormat('https://www.shbsq.gov.cn/shbs/bsyw/20250101/1.html', { format: 'news-list' })).toBe('news-article');
  });
});

describe('discoverLinks on markup nested past the bound', () => {
  it('refuses the list page with markup_too_deep instead of parsing it', () => {
    const deep = `${'<div>'.repeat(10_000)}<a href="/ydsj/202510/ab12cd.html">1-10月</a>${'</div>'.repeat(10_000)}`;
    expect(() => discoverLinks(deep, source.url, source)).toThrow(expect.objectContaining({ code: 'markup_too_deep' }));
  });

  it('refuses a list that nests only as parsed (<li><p> repeated), which the markup scan counts as flat', () => {
    const items = '<li><p><a href="/ydsj/202510/ab12cd.html">1-10月</a>'.repeat(100_000);
    expect(() => discoverLinks(`<ul>${items}</ul>`, source.url, source)).toThrow(expect.objectContaining({ code: 'markup_too_deep' }));
    // The same list closed properly is read.
    const closed = '<li><p><a href="/ydsj/202510/ab12cd.html">1-10月</a></p></li>'.repeat(1_000);
    expect(discoverLinks(`<ul>${closed}</ul>`, source.url, source).documents).toEqual(['https://tjj.sh.gov.cn/ydsj/202510/ab12cd.html']);
  });
});
