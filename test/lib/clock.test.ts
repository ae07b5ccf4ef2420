// isoString (lib/clock.ts): toISOString with the last millisecond remembered — never a stale answer.
import { describe, expect, it } from 'vitest';
import { isoString } from '../../src/lib/clock.js';

describe('isoString', () => {
  it('formats every instant as toISOString does, whichever was formatted before', () => {
    const instants = ['2026-12-04T07:00:00.000Z', '2026-12-04T07:00:00.001Z', '2026-12-04T07:00:00.001Z', '1999-01-01T23:59:59.999Z', '2026-12-04T07:00:00.000Z'];
    for (const text of instants) expect(isoString(new Date(text))).toBe(text);
    const now = new Date();
    expect(isoString(now)).toBe(now.toISOString());
    expect(isoString(new Date(now.getTime() + 1))).toBe(new Date(now.getTime() + 1).toISOString());
  });

  it('throws for an invalid date, as toISOString does, and remembers nothing from it', () => {
    expect(isoString(new Date('2026-01-01T00:00:00.000Z'))).toBe('2026-01-01T00:00:00.000Z');
    expect(() => isoString(new Date('not a date'))).toThrow(RangeError);
    expect(() => isoString(new Date(Number.NaN))).toThrow(RangeError);
    expect(isoString(new Date('2026-01-01T00:00:00.000Z'))).toBe('2026-01-01T00:00:00.000Z');
  });
});
