import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalText } from './canonical';

const page = (views: number, extra = '') => `<!doctype html><html><head><title>2025年1-10月主要经济指标</title>
<script>var t = ${Date.now()};</script><style>.x{}</style></head><body>
<div class="crumb">当前位置：首页 &gt; 统计数据</div>
<h1>2025年1-10月主要经济指标</h1><span>浏览次数：${views}</span><span id="visitCounter">${views}</span>
<table><tr><td>规模以上工业总产值</td><td>1,834.52</td></tr></table>${extra}</body></html>`;

describe('canonical text', () => {
  it('ignores scripts, styles and view counters', () => {
    expect(canonicalText(page(1234))).toBe(canonicalText(page(98765)));
    expect(canonicalText(page(1))).not.toMatch(/浏览次数|var t/);
    expect(canonicalText(page(1))).toContain('规模以上工业总产值 1,834.52');
  });

  it('changes when the content changes', () => {
    const a = canonicalHash(Buffer.from(page(1)), page(1), true);
    const b = canonicalHash(Buffer.from(page(1, '<p>修订</p>')), page(1, '<p>修订</p>'), true);
    expect(a).not.toBe(b);
  });
});

describe('canonical text of markup nested past the bound', () => {
  it('is the stripped text, computed at once instead of parsed', () => {
    const deep = `<html><body>${'<div>'.repeat(100_000)}规模以上工业总产值 浏览次数：12${'</div>'.repeat(100_000)}</body></html>`;
    const started = performance.now();
    expect(canonicalText(deep)).toBe('规模以上工业总产值');
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
