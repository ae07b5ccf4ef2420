// Parsing of the task fields that JSON Schema cannot check precisely: hours (a JSON number or a
// numeric string, at most two decimals, within range) and ISO 8601 datetimes (any offset, naive
// read as UTC, years 1970–9999). Failures are 422s that name the offending field.
import { invalid } from '../../errors.js';

export const MAX_HOURS = 9999.99;

type Loc = (string | number)[];

const NUMERIC_TEXT = /^\s*[-+]?\d{1,12}(\.\d{1,12})?\s*$/;

/** A JSON number or numeric string → hours with at most two decimals within [min, 9999.99]. */
export function parseHours(value: number | string, loc: Loc, options: { allowZero: boolean }): number {
  if (typeof value === 'string' && !NUMERIC_TEXT.test(value)) throw invalid(loc, 'must be a number or a numeric string');
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isFinite(n)) throw invalid(loc, 'must be a number');
  if (Math.round(n * 100) / 100 !== n) throw invalid(loc, 'must have at most 2 decimal places');
  if (options.allowZero ? n < 0 : n <= 0) {
    throw invalid(loc, options.allowZero ? 'must be greater than or equal to 0' : 'must be greater than 0');
  }
  if (n > MAX_HOURS) throw invalid(loc, `must be less than or equal to ${MAX_HOURS}`);
  return n;
}

/** Hours as emitted: a JSON number rounded to two decimals. */
export function formatHours(value: number | string): number {
  return Math.round(Number(value) * 100) / 100;
}

const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const MIN_INSTANT = Date.UTC(1970, 0, 1);
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An ISO 8601 date or datetime with an optional offset (naive = UTC) → the instant as
 * `YYYY-MM-DDTHH:mm:ss.sssZ`. Fractions beyond milliseconds are truncated.
 */
export function parseDateTime(value: string, loc: Loc): string {
  const match = ISO_DATETIME.exec(value.trim());
  if (!match) throw invalid(loc, 'must be an ISO 8601 datetime, e.g. 2026-12-01T17:00:00Z');
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (year < 1970 || year > 9999) throw invalid(loc, 'year must be between 1970 and 9999');
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(year, month, 0)).getUTCDate() : 0;
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    throw invalid(loc, 'is not a valid date or time');
  }
  let offsetMinutes = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) throw invalid(loc, 'has an invalid UTC offset');
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const millis = Number(frac.padEnd(3, '0').slice(0, 3));
  const instant = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  if (instant < MIN_INSTANT || instant > MAX_INSTANT) throw invalid(loc, 'must be between 1970 and 9999 in UTC');
  return new Date(instant).toISOString();
}

/** `YYYY-MM-DDTHH:mm:ss.sssZ` with every field in range (the day is checked against its month apart). */
const CANONICAL_INSTANT = /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (text: string, index: number) => text.charCodeAt(index) - 48;

/** Whether `text` is already what toISOString() would make of it: no Date needed. */
function isCanonicalInstant(text: string): boolean {
  if (!CANONICAL_INSTANT.test(text)) return false;
  const day = digit(text, 8) * 10 + digit(text, 9);
  if (day <= 28) return true;
  const month = digit(text, 5) * 10 + digit(text, 6);
  if (month !== 2) return day <= (DAYS_IN_MONTH[month - 1] ?? 0);
  const year = digit(text, 0) * 1000 + digit(text, 1) * 100 + digit(text, 2) * 10 + digit(text, 3);
  return day === 29 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/**
 * A stored timestamp (ISO string from either dialect) → UTC ISO string with `Z`. Both dialects
 * already hand over that form (see db/database.ts), so it is returned as is after a check; a Date
 * per timestamp cost about a tenth of the CPU of a page of tasks. Anything else goes through Date.
 */
export function formatTimestamp(value: string | Date): string {
  if (typeof value === 'string' && isCanonicalInstant(value)) return value;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
