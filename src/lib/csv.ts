// CSV text (RFC 4180): CRLF line endings, fields quoted when they hold a comma, a quote, CR or LF,
// quotes doubled. Text cells that a spreadsheet would read as a formula (starting with =, +, -, @,
// a tab or a CR) get a leading apostrophe, so an exported value can never run as one.
import { Readable } from 'node:stream';

export type CsvValue = string | number | boolean | null | undefined;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/**
 * A byte stream of CSV text: the header row, then the rows of each batch `nextBatch` returns
 * (given the previous batch; an empty batch ends the file). It reads the next batch only when the
 * client has taken the previous one, so memory holds about one batch whatever the file's size.
 */
export function csvStream<T>(header: readonly string[], nextBatch: (previous: T[] | undefined) => Promise<T[]>, toRow: (item: T) => CsvValue[]): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield csvRow(header);
    let batch: T[] | undefined;
    for (;;) {
      batch = await nextBatch(batch);
      if (batch.length === 0) return;
      yield batch.map((item) => csvRow(toRow(item))).join('');
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** `attachment; filename="<name>"` (the name is ASCII without quotes). */
export const attachment = (filename: string) => `attachment; filename="${filename}"`;
