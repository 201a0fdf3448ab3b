import { describe, expect, it } from 'vitest';
import { findStatedUnit, negateDecimal, normalizeDigits, parseCell, parseQuantity, parseUnit, roundDecimal, shiftDecimal, toPlainDecimal } from './numbers';

describe('parseCell', () => {
  it.each([
    ['1725.00', '1725.00'],
    ['1,725.00', '1725.00'],
    ['１，７２５．００', '1725.00'],
    ['3 215.8', '3215.8'],
    ['−2.4', '-2.4'],
    ['－0.7', '-0.7'],
    ['+2.2', '2.2'],
    ['-0.0', '0.0'],
    ['007', '7'],
    ['.5', '0.5'],
    ['5.2*', '5.2'],
    ['5.2%', '5.2'],
    ['６．５', '6.5'],
  ])('reads %j as %j', (raw, value) => {
    expect(parseCell(raw)).toEqual({ kind: 'number', value });
  });

  it.each(['', ' ', '—', '——', '-', '－', '…', '……', '...', '/', '\u3000'])('treats %j as missing, never as 0', (raw) => {
    expect(parseCell(raw)).toEqual({ kind: 'missing' });
  });

  it.each(['NaN', '∞', '1.2.3', '1e5', '12,34', '1,2345', 'abc', '5.2.', '--3'])('refuses %j', (raw) => {
    expect(parseCell(raw).kind).toBe('invalid');
  });
});

describe('toPlainDecimal', () => {
  it('keeps the published scale and trailing zeros', () => {
    expect(toPlainDecimal('2990.50')).toBe('2990.50');
    expect(toPlainDecimal('-0012.30')).toBe('-12.30');
  });
});

describe('negateDecimal', () => {
  it('flips the sign and leaves zero unsigned', () => {
    expect(negateDecimal('3.2')).toBe('-3.2');
    expect(negateDecimal('-3.2')).toBe('3.2');
    expect(negateDecimal('0.0')).toBe('0.0');
  });
});

describe('parseUnit', () => {
  it.each([
    ['亿元', { unit: 'CNY', unitMult: 8 }],
    ['万元', { unit: 'CNY', unitMult: 4 }],
    ['元', { unit: 'CNY', unitMult: 0 }],
    ['万亿元', { unit: 'CNY', unitMult: 12 }],
    ['（亿元）', { unit: 'CNY', unitMult: 8 }],
    ['%', { unit: 'pct', unitMult: 0 }],
    ['个百分点', { unit: 'pp', unitMult: 0 }],
    ['percentage points', { unit: 'pp', unitMult: 0 }],
    ['billion yuan', { unit: 'CNY', unitMult: 9 }],
    ['million yuan', { unit: 'CNY', unitMult: 6 }],
    ['yuan', { unit: 'CNY', unitMult: 0 }],
    ['家', { unit: 'count', unitMult: 0 }],
  ])('%j → %j', (word, spec) => {
    expect(parseUnit(word)).toEqual(spec);
  });

  it('does not know square metres or dollars', () => {
    expect(parseUnit('万平方米')).toBeUndefined();
    expect(parseUnit('亿美元')).toBeUndefined();
  });
});

describe('parseQuantity', () => {
  it('reads Chinese and English amounts at their published scale', () => {
    expect(parseQuantity('1,725.00', '亿元')).toEqual({ value: '1725.00', unit: 'CNY', unitMult: 8, raw: '1,725.00亿元' });
    expect(parseQuantity('400', ' billion yuan')).toMatchObject({ value: '400', unit: 'CNY', unitMult: 9 });
    expect(parseQuantity('1.5', '个百分点')).toMatchObject({ value: '1.5', unit: 'pp' });
    expect(parseQuantity('5.2', ' percent')).toMatchObject({ value: '5.2', unit: 'pct' });
  });

  it('leaves the unit open for a bare scale word', () => {
    expect(parseQuantity('4000', '亿')).toEqual({ value: '4000', unitMult: 8, raw: '4000亿' });
  });

  it('refuses what is not a number', () => {
    expect(parseQuantity('1.2.3', '亿元')).toBeUndefined();
  });
});

describe('findStatedUnit', () => {
  it('finds the unit in a title, a header or a label', () => {
    expect(findStatedUnit('2025年9月上海市主要经济指标 单位：亿元')).toEqual({ unit: 'CNY', unitMult: 8 });
    expect(findStatedUnit('1-10月（万元）')).toEqual({ unit: 'CNY', unitMult: 4 });
    expect(findStatedUnit('Unit: 100 million yuan')).toEqual({ unit: 'CNY', unitMult: 8 });
    expect(findStatedUnit('比上年同期增长（%）')).toEqual({ unit: 'pct', unitMult: 0 });
    expect(findStatedUnit('规模以上工业总产值')).toBeUndefined();
  });
});

describe('normalizeDigits', () => {
  it('folds digits and signs but keeps the clause punctuation', () => {
    expect(normalizeDigits('下降１．５％，增长−2.0%。')).toBe('下降1.5%，增长-2.0%。');
    expect(normalizeDigits('1，725亿元，增长5%')).toBe('1,725亿元，增长5%');
  });
});

describe('decimal string arithmetic', () => {
  it('moves the decimal point without floats', () => {
    expect(shiftDecimal('0.052', 2)).toBe('5.2');
    expect(shiftDecimal('-0.008', 2)).toBe('-0.8');
    expect(shiftDecimal('12', 2)).toBe('1200');
    expect(shiftDecimal('1725', -3)).toBe('1.725');
  });

  it('rounds half away from zero as a 0.00 format prints', () => {
    expect(roundDecimal('2990.4999999999995', 1)).toBe('2990.5');
    expect(roundDecimal('5', 2)).toBe('5.00');
    expect(roundDecimal('9.995', 2)).toBe('10.00');
    expect(roundDecimal('-0.004', 2)).toBe('0.00');
  });
});
