import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { loadSeeds, parseSources } from './seeds';

describe('seeds', () => {
  it('loads the project seed files', async () => {
    const seeds = await loadSeeds();
    const codes = seeds.indicators.map((i) => i.code);
    for (const code of [
      'gdp', 'industrial_output', 'strategic_emerging_output', 'fixed_asset_investment', 'retail_sales', 'budget_revenue',
      'budget_revenue_district', 'secondary_industry_va', 'tertiary_industry_va', 'new_materials_output',
      'biomedicine_output', 'intelligent_equipment_output', 'new_gen_it_output',
    ]) {
      expect(codes).toContain(code);
    }
    const opinions = seeds.releases.find((r) => r.key === 'opinions-2022');
    const gdp = opinions?.targets.find((t) => t.key === 'ns-gdp-4000');
    expect(gdp).toMatchObject({ scope: 'north_south', indicator: 'gdp', kind: 'level', value: 4000, unit_mult: 8, target_year: 2025 });
    expect(opinions?.targets.find((t) => t.kind === 'share_of_city_increment')).toMatchObject({ value: 20, unit: 'pct' });
    expect(seeds.sources.length).toBeGreaterThan(5);
  });

  it('applies defaults to each source and keeps per-source overrides', async () => {
    const { sources } = await loadSeeds();
    const news = sources.find((s) => s.key === 'bs-news');
    expect(news?.politeness).toMatchObject({ minDelayMs: 3000, concurrency: 1, timeoutMs: 20000 });
    expect(news?.discovery.maxPages).toBe(5);
  });

  it('reports a bad source entry by key and field', () => {
    const doc = {
      sources: [
        { key: 'ok-one', name: 'n', publisher: 'p', format: 'bulletin', url: 'https://example.gov.cn/', schedule: '0 7 * * *' },
        { key: 'bad-one', name: 'n', publisher: 'p', format: 'pdf', url: 'ftp://x/', schedule: 'every day' },
      ],
    };
    let caught: unknown;
    try {
      parseSources('sources.yaml', doc);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const message = (caught as Error).message;
    expect(message).toContain('source "bad-one": format');
    expect(message).toContain('source "bad-one": url must be an http(s) URL');
    expect(message).toContain('source "bad-one": schedule is not a valid cron expression');
    expect(message).not.toContain('ok-one');
  });

  it('refuses duplicate keys', () => {
    const entry = { key: 'twice', name: 'n', publisher: 'p', format: 'bulletin', url: 'https://a.gov.cn/', schedule: '0 7 * * *' };
    expect(() => parseSources('sources.yaml', { sources: [entry, entry] })).toThrow(/source "twice": duplicate key/);
  });
});
