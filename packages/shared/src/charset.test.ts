import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { canonicalCharset, charsetFromContentType, charsetFromMarkup, decodeBody } from './charset';

const page = (head: string, body = '宝山区规模以上工业总产值3441.76亿元，镕、堃、喆') =>
  `<!DOCTYPE html><html><head>${head}<title>统计公报</title></head><body><p>${body}</p></body></html>`;

describe('decodeBody', () => {
  it('uses the Content-Type charset first', () => {
    const bytes = iconv.encode(page(''), 'gbk');
    const decoded = decodeBody(bytes, 'text/html; charset=GBK');
    expect(decoded).toMatchObject({ charset: 'gb18030', via: 'header' });
    expect(decoded.text).toContain('宝山区规模以上工业总产值3441.76亿元');
  });

  it('reads <meta charset> and <meta http-equiv> in the first bytes', () => {
    const equiv = iconv.encode(page('<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'), 'gbk');
    expect(decodeBody(equiv, 'text/html')).toMatchObject({ charset: 'gb18030', via: 'meta' });
    const short = iconv.encode(page('<meta charset="GBK">'), 'gbk');
    expect(decodeBody(short)).toMatchObject({ charset: 'gb18030', via: 'meta' });
  });

  it('decodes a GB2312 label as GB18030 so GBK-only characters survive', () => {
    // 镕 and 堃 are outside GB2312; publishers labelled GB2312 use them anyway.
    const bytes = iconv.encode(page('<meta charset="gb2312">'), 'gbk');
    const { text } = decodeBody(bytes);
    expect(text).toContain('镕、堃、喆');
    expect(text).not.toContain('\uFFFD');
  });

  it('honours a byte-order mark over a wrong header', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(page(''), 'utf8')]);
    const decoded = decodeBody(bytes, 'text/html; charset=gbk');
    expect(decoded).toMatchObject({ charset: 'utf-8', via: 'bom' });
    expect(decoded.text.startsWith('<!DOCTYPE')).toBe(true);
  });

  it('detects GBK that nothing declares', () => {
    const bytes = iconv.encode(page('', '金山区2025年1-6月主要经济指标：规模以上工业总产值1018.92亿元，同比增长4.4%。'.repeat(3)), 'gbk');
    const decoded = decodeBody(bytes, 'text/html');
    expect(decoded).toMatchObject({ charset: 'gb18030', via: 'detect' });
    expect(decoded.text).toContain('金山区2025年1-6月主要经济指标');
  });

  it('detects undeclared UTF-8', () => {
    expect(decodeBody(Buffer.from(page(''), 'utf8'))).toMatchObject({ charset: 'utf-8', via: 'detect' });
  });

  it('does not trust <meta charset=utf-8> over bytes that are not UTF-8', () => {
    const bytes = iconv.encode(page('<meta charset="utf-8">', '宝山区统计局发布主要经济指标'.repeat(4)), 'gbk');
    const decoded = decodeBody(bytes);
    expect(decoded.via).toBe('detect');
    expect(decoded.text).toContain('宝山区统计局发布主要经济指标');
  });

  it('ignores a charset label it does not know and goes on to the next clue', () => {
    const bytes = iconv.encode(page('<meta charset="gbk">'), 'gbk');
    expect(decodeBody(bytes, 'text/html; charset=x-no-such-charset')).toMatchObject({ charset: 'gb18030', via: 'meta' });
  });

  it('falls back to UTF-8 for an empty body', () => {
    expect(decodeBody(Buffer.alloc(0))).toEqual({ text: '', charset: 'utf-8', via: 'default' });
  });
});

describe('charset helpers', () => {
  it('parses header values', () => {
    expect(charsetFromContentType('text/html;charset="gb2312"')).toBe('gb2312');
    expect(charsetFromContentType('text/html')).toBeUndefined();
  });

  it('finds an XML declaration', () => {
    expect(charsetFromMarkup(Buffer.from('<?xml version="1.0" encoding="GBK"?><root/>'))).toBe('GBK');
  });

  it('maps the GB family onto GB18030', () => {
    for (const label of ['GB2312', 'gbk', 'x-gbk', 'cp936', 'GB18030']) expect(canonicalCharset(label)).toBe('gb18030');
    expect(canonicalCharset('utf8')).toBe('utf-8');
    expect(canonicalCharset('bogus')).toBeUndefined();
  });
});
