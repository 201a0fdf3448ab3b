import { describe, expect, it } from 'vitest';
import { toCsv } from './csv';

describe('toCsv', () => {
  it('writes a header and one CRLF-ended line per row, quoting only what needs it', () => {
    const rows = [
      { district: 'baoshan', value: '1987.45', locator: 'table 1, row "GDP"' },
      { district: 'jinshan', value: null, locator: 'line\nbreak' },
    ];
    expect(toCsv(['district', 'value', 'locator'], rows)).toBe(
      'district,value,locator\r\nbaoshan,1987.45,"table 1, row ""GDP"""\r\njinshan,,"line\nbreak"\r\n',
    );
  });

  it('writes dates as ISO timestamps and arrays joined by semicolons', () => {
    const rows = [{ at: new Date('2026-04-05T01:00:00Z'), tags: ['a', 'b'] }];
    expect(toCsv(['at', 'tags'], rows)).toBe('at,tags\r\n2026-04-05T01:00:00.000Z,a;b\r\n');
  });
});
