// CSV cells and rows (pure): RFC 4180 quoting and formula neutralisation; the batched stream's reading pace.
import { describe, expect, it } from 'vitest';
import { csvCell, csvRow, csvRows, csvStream } from '../../src/lib/csv.js';
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

describe('csvRows', () => {
  it('writes several rows as their rows one after the other', () => {
    const rows = [['a', 1, null], ['b,c', true, '=d'], []];
    expect(csvRows(rows)).toBe(rows.map(csvRow).join(''));
    expect(csvRows([])).toBe('');
  });
});

describe('csvStream', () => {
  /** Batches of one row each, large enough that each fills the stream's buffer on its own. */
  const batched = (count: number) => {
    const batches = Array.from({ length: count }, (_, i) => [`${i}${'x'.repeat(64 * 1024)}`]);
    const asked: number[] = [];
    const stream = csvStream(
      ['cell'],
      async (previous: string[] | undefined) => {
        const index = previous === undefined ? 0 : batches.indexOf(previous) + 1;
        asked.push(index);
        return batches[index] ?? [];
      },
      (cell) => [cell],
    );
    return { stream, asked };
  };

  it('reads the next batch while the client takes the previous one, and no further', async () => {
    const { stream, asked } = batched(3);
    const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let text = String((await chunks.next()).value);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Only the header taken: the first batch waits in the stream's buffer, the second is being read.
    expect(asked).toEqual([0, 1]);
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) text += String(next.value);
    expect(asked).toEqual([0, 1, 2, 3]);
    expect(text.split('\r\n').map((line) => line.slice(0, 4))).toEqual(['cell', '0xxx', '1xxx', '2xxx', '']);
  });

  it('lets other work run between batches even when the database answers at once and the client takes everything', async () => {
    let asked = 0;
    const stream = csvStream(['cell'], async () => (++asked <= 50 ? ['x'.repeat(100_000)] : []), (cell: string) => [cell]);
    let askedWhenOtherWorkRan = -1;
    setImmediate(() => (askedWhenOtherWorkRan = asked));
    for await (const chunk of stream) void chunk;
    expect(asked).toBe(51);
    expect(askedWhenOtherWorkRan).toBeGreaterThanOrEqual(0);
    expect(askedWhenOtherWorkRan).toBeLessThanOrEqual(3);
  });

  it('fails the stream when reading a batch fails', async () => {
    const stream = csvStream(['cell'], async (previous: string[] | undefined) => {
      if (previous === undefined) return ['a'];
      throw new Error('the database went away');
    }, (cell) => [cell]);
    await expect(async () => {
      for await (const chunk of stream) void chunk;
    }).rejects.toThrow('the database went away');
  });
});
