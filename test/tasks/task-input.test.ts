// Parsing of hours and datetimes, without an app.
import { describe, expect, it } from 'vitest';
import { ValidationFailure } from '../../src/errors.js';
import fc from 'fast-check';
import { formatHours, formatTimestamp, parseDateTime, parseHours } from '../../src/modules/tasks/task-input.js';
import { timestampText } from '../helpers/timestamps.js';

const est = (v: number | string) => parseHours(v, ['body', 'estimated_hours'], { allowZero: false });
const act = (v: number | string) => parseHours(v, ['body', 'actual_hours'], { allowZero: true });

describe('hours', () => {
  it.each([
    [8.5, 8.5],
    ['8.50', 8.5],
    [' 3 ', 3],
    [0.01, 0.01],
    [9999.99, 9999.99],
    ['1.10', 1.1],
    [8.55, 8.55],
  ])('accepts %j as %d', (input, expected) => {
    expect(est(input)).toBe(expected);
  });

  it.each([[8.555], ['8.555'], [0], [-1], [10000], [1e308], ['1e3'], ['abc']])('rejects %j as estimated hours', (input) => {
    expect(() => est(input)).toThrow(ValidationFailure);
  });

  it('accepts zero actual hours but not negative ones', () => {
    expect(act(0)).toBe(0);
    expect(() => act(-0.01)).toThrow(ValidationFailure);
  });

  it('rounds stored values to two decimals on output', () => {
    expect(formatHours(8.499999999)).toBe(8.5);
    expect(formatHours('12.30')).toBe(12.3);
  });
});

describe('datetimes', () => {
  it.each([
    ['2026-12-01T17:00:00Z', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01T17:00:00', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01T17:00', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01 17:00:00', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01T22:30:00+05:30', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01T12:00:00-0500', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01T17:00:00.123456Z', '2026-12-01T17:00:00.123Z'],
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (input, expected) => {
    expect(parseDateTime(input, ['body', 'deadline'])).toBe(expected);
  });

  it.each([
    'tomorrow',
    '',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-12-01T24:00:00Z',
    '2026-12-01T10:60:00Z',
    '1969-12-31T23:59:59Z',
    '10000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '1970-01-01T00:30:00+01:00',
    '2026-12-01T10:00:00+25:00',
  ])('rejects %j', (input) => {
    expect(() => parseDateTime(input, ['body', 'deadline'])).toThrow(ValidationFailure);
  });
});

describe('formatTimestamp', () => {
  const viaDate = (text: string) => {
    try {
      return new Date(text).toISOString();
    } catch (error) {
      return error instanceof RangeError ? 'RangeError' : String(error);
    }
  };
  const formatted = (text: string) => {
    try {
      return formatTimestamp(text);
    } catch (error) {
      return error instanceof RangeError ? 'RangeError' : String(error);
    }
  };

  it('answers exactly what toISOString would for timestamps of every shape, in range or not', () => {
    const instant = timestampText({
      ranges: { year: [0, 9999], month: [0, 13], day: [0, 32], hour: [0, 24], minute: [0, 60], second: [0, 60] },
      separator: fc.constantFrom('T', ' '),
      fraction: fc.integer({ min: 0, max: 999 }).map((ms) => `.${String(ms).padStart(3, '0')}`),
      zone: fc.constantFrom('Z', '+00:00', '', 'z', '+01:00'),
    });
    fc.assert(fc.property(instant, (text) => formatted(text) === viaDate(text)), { numRuns: 20_000 });
  });

  it.each([
    ['2026-12-01T17:00:00.000Z', '2026-12-01T17:00:00.000Z'],
    ['2024-02-29T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    ['2026-02-29T00:00:00.000Z', '2026-03-01T00:00:00.000Z'],
    ['2100-02-29T00:00:00.000Z', '2100-03-01T00:00:00.000Z'],
    ['2000-02-29T00:00:00.000Z', '2000-02-29T00:00:00.000Z'],
    ['2026-04-31T10:00:00.000Z', '2026-05-01T10:00:00.000Z'],
    ['2026-12-01 17:00:00', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01T17:00:00.123456+00:00', '2026-12-01T17:00:00.123Z'],
  ])('formats %s as %s', (input, expected) => {
    expect(formatTimestamp(input)).toBe(expected);
  });

  it('formats a Date', () => {
    expect(formatTimestamp(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)))).toBe('2026-01-02T03:04:05.006Z');
  });
});
