// CSV cells and rows (pure): RFC 4180 quoting and formula neutralisation.
import { describe, expect, it } from 'vitest';
import { csvCell, csvRow } from '../../src/lib/csv.js';
import { parseCsv } from '../helpers/csv.js';

describe('csvCell', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['', ''],
  ])('quotes %j only when it must', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it.each(['=1+1', '+1', '-1', '@SUM(A1)', '\tTAB', '\rCR', '=HYPERLINK("http://x","y")'])('neutralises the formula-like %j', (value) => {
    const cell = csvCell(value);
    expect(parseCsv(`${cell}\r\n`)[0]?.[0]).toBe(`'${value}`);
  });

  it('writes numbers, booleans and empty values as such', () => {
    expect([csvCell(12.5), csvCell(true), csvCell(null), csvCell(undefined), csvCell(-3)]).toEqual(['12.5', 'true', '', '', '-3']);
  });
});

describe('csvRow', () => {
  it('joins cells with commas and ends with CRLF, readable back as the same values', () => {
    const values = ['a', 'b,c', 'd"e', 'f\r\ng', '=h'];
    const row = csvRow(values);
    expect(row.endsWith('\r\n')).toBe(true);
    expect(parseCsv(row)).toEqual([['a', 'b,c', 'd"e', 'f\r\ng', "'=h"]]);
  });
});
