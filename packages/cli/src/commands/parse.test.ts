import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SEEDS_DIR } from '@nst/shared/seeds';
import { describe, expect, it } from 'vitest';
import { parseFileToLines } from './parse';

const caseFile = (name: string) => `${SEEDS_DIR}/fixtures/cases/${name}`;

describe('nst parse', () => {
  it('prints one JSON line per record, observation fields in the documented order', async () => {
    const lines = await parseFileToLines(caseFile('stats-table-gbk-jinshan.html'), {});
    const first = JSON.parse(lines[0] ?? '{}');
    expect(Object.keys(first)).toEqual(['kind', 'district', 'indicator', 'measure', 'accumulation', 'period', 'value', 'unit', 'unitMult', 'status', 'basis', 'locator', 'rawValue']);
    expect(first).toMatchObject({ kind: 'observation', district: 'jinshan', indicator: 'industrial_output', period: '2025-06', value: '176.34', unit: 'CNY', unitMult: 8 });
    expect(lines.map((line) => JSON.parse(line).kind)).toContain('reject');
  });

  it('sniffs the format and honours --district and --format', async () => {
    const bulletin = await parseFileToLines(caseFile('bulletin-jinshan-q3-report.html'), {});
    expect(JSON.parse(bulletin[0] ?? '{}')).toMatchObject({ kind: 'observation', indicator: 'gdp', period: '2025-Q3' });
    const news = await parseFileToLines(caseFile('bulletin-jinshan-q3-report.html'), { format: 'news-article', district: 'jinshan' });
    expect(JSON.parse(news[0] ?? '{}')).toMatchObject({ kind: 'news_item', districts: ['jinshan'] });
  });

  it('refuses an unknown option value as a usage error', async () => {
    await expect(parseFileToLines(caseFile('empty.html'), { district: 'pudong' })).rejects.toMatchObject({ code: 'usage' });
  });

  it('runs from the command line without PostgreSQL or Redis', async () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));
    const { stdout } = await promisify(execFile)(tsx, [main, 'parse', caseFile('monthly-indicators.xlsx'), '--district', 'shanghai'], {
      env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1' },
    });
    const records = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(records.filter((record) => record.kind === 'observation')).toHaveLength(14);
  }, 30_000);
});
