import { beforeAll, describe, expect, it } from 'vitest';
import type { IndicatorCatalog } from '../indicators';
import type { NewsItemRecord, TargetMentionRecord } from '../records';
import { figure, figuresOf, loadTestCatalog, readCase, rejectsOf } from '../testing';
import { parseDocument } from './index';

let catalog: IndicatorCatalog;
beforeAll(async () => {
  catalog = await loadTestCatalog();
});

describe('news: an English article with a goal and actuals', () => {
  it('extracts the news item with districts, industries and key areas', async () => {
    const { records } = await parseDocument({ bytes: readCase('news-en-target.html'), format: 'news-article' }, catalog);
    const item = records.find((record): record is NewsItemRecord => record.kind === 'news_item');
    expect(item).toMatchObject({
      title: 'Baoshan and Jinshan push ahead with north-south transformation',
      lang: 'en',
      publishedAt: '2025-01-16T10:42:00+08:00',
      districts: ['baoshan', 'jinshan', 'shanghai'],
      industries: ['new_materials', 'hydrogen', 'stem_cells'],
      areas: ['wusong', 'nanda', 'carbon_valley'],
    });
  });

  it('makes "strive to reach … by 2025" a target mention, never an observation', async () => {
    const { records } = await parseDocument({ bytes: readCase('news-en-target.html'), format: 'news-article' }, catalog);
    const mentions = records.filter((record): record is TargetMentionRecord => record.kind === 'target_mention');
    expect(mentions[0]).toEqual({
      kind: 'target_mention', scope: 'north_south', indicator: 'gdp', value: '400', unit: 'CNY', unitMult: 9, targetYear: 2025,
      rawText: "Shanghai's northern Baoshan district and southern Jinshan district, the two ends of the city's north-south transformation, strive to reach a combined GDP of 400 billion yuan by 2025, officials said on Thursday.",
      locator: 'p[0] s[0]',
    });
    expect(mentions[1]).toMatchObject({ indicator: 'strategic_emerging_output', value: '60', unit: 'pct', targetYear: 2027 });
    expect(figuresOf(records).some((f) => f.value === '400')).toBe(false);
  });

  it('makes figures stated as actuals observations with status news', async () => {
    const { records } = await parseDocument({ bytes: readCase('news-en-target.html'), format: 'news-article' }, catalog);
    expect(figuresOf(records)).toEqual([
      figure('baoshan', 'gdp', 'level', 'period', '2024', '180.2', 'CNY', 9, 'news'),
      figure('baoshan', 'gdp', 'yoy_pct', 'period', '2024', '5.1', 'pct', 0, 'news', 'nominal'),
      figure('jinshan', 'industrial_output', 'yoy_pct', 'period', '2024', '-2.6', 'pct', 0, 'news'),
    ]);
    expect(rejectsOf(records)).toEqual([]);
  });
});

describe('news: a Chinese district article', () => {
  it('reads the item, the actuals (status news) and 力争达到 as a target mention', async () => {
    const { records, publishedAt } = await parseDocument({ bytes: readCase('news-zh-baoshan.html'), format: 'news-article', district: 'baoshan' }, catalog);
    expect(publishedAt).toBe('2025-02-10T08:45:00+08:00');
    expect(records[0]).toMatchObject({
      kind: 'news_item', lang: 'zh', title: '宝山：加快南北转型 打造“北转型”新高地', districts: ['baoshan'],
      industries: ['new_materials', 'biomedicine', 'intelligent_equipment', 'new_gen_it', 'hydrogen', 'stem_cells'],
      areas: ['wusong', 'nanda', 'shu_ring'],
    });
    expect(figuresOf(records)).toEqual([
      figure('baoshan', 'gdp', 'level', 'period', '2024', '1802.4', 'CNY', 8, 'news'),
      figure('baoshan', 'gdp', 'yoy_pct', 'period', '2024', '5.1', 'pct', 0, 'news'),
    ]);
    expect(records.filter((record) => record.kind === 'target_mention')).toEqual([
      {
        kind: 'target_mention', scope: 'baoshan', indicator: 'industrial_output', value: '3600', unit: 'CNY', unitMult: 8, targetYear: 2025,
        rawText: '到2025年，宝山区规模以上工业总产值力争达到3600亿元，战略性新兴产业产值占比提高到35%。', locator: 'p[1] s[0]',
      },
    ]);
  });
});
