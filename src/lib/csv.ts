// CSV text (RFC 4180): CRLF line endings, fields quoted when they hold a comma, a quote, CR or LF,
// quotes doubled. Text cells that a spreadsheet would read as a formula (starting with =, +, -, @,
// a tab or a CR) get a leading apostrophe, so an exported value can never run as one.
import { Readable } from 'node:stream';
import { setImmediate } from 'node:timers/promises';

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
  return csvRows([values]);
}

/** Several rows as one string (built in one pass: an export writes a whole batch at a time). */
export function csvRows(rows: Iterable<readonly CsvValue[]>): string {
  let text = '';
  for (const values of rows) {
    for (let i = 0; i < values.length; i += 1) text += i === 0 ? csvCell(values[i]) : `,${csvCell(values[i])}`;
    text += '\r\n';
  }
  return text;
}

/**
 * A byte stream of CSV text: the header row, then the rows of each batch `nextBatch` returns
 * (given the previous batch; an empty batch ends the file). The next batch is read while the
 * client takes the previous one — so a database round trip never waits on the network or the other
 * way round — and no further: memory holds about two batches whatever the file's size.
 */
export function csvStream<T>(header: readonly string[], nextBatch: (previous: T[] | undefined) => Promise<T[]>, toRow: (item: T) => CsvValue[]): Readable {
  async function* lines(): AsyncGenerator<string> {
    yield csvRow(header);
    let batch = await nextBatch(undefined);
    while (batch.length > 0) {
      const following = nextBatch(batch);
      // Awaited below; a client that leaves first must not turn its failure into an unhandled rejection.
      following.catch(() => undefined);
      yield csvRows(batch.map(toRow));
      // A database that answers synchronously (SQLite) and a socket that takes everything would
      // otherwise run the whole file in one turn of the event loop, starving every other request.
      await setImmediate();
      batch = await following;
    }
  }
  return Readable.from(lines(), { objectMode: false });
}

/** `attachment; filename="<name>"` (the name is ASCII without quotes). */
export const attachment = (filename: string) => `attachment; filename="${filename}"`;
