// Timestamp texts for property tests (fast-check): `YYYY-MM-DD<sep>HH:MM:SS<fraction><zone>`, each
// field drawn from a range, by default a valid UTC instant with no fraction; tests widen the
// ranges (out-of-range fields) or vary the separator, fraction and zone to the forms they read.
import fc from 'fast-check';

type Field = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second';

export interface TimestampTextOptions {
  /** Inclusive [min, max] per field; by default 1000–9999, 1–12, 1–28, 0–23, 0–59, 0–59. */
  ranges?: Partial<Record<Field, readonly [number, number]>>;
  /** Between date and time; `T` by default. */
  separator?: fc.Arbitrary<string>;
  /** After the seconds, dot included (`.123`); none by default. */
  fraction?: fc.Arbitrary<string>;
  /** `Z` by default. */
  zone?: fc.Arbitrary<string>;
}

const VALID: Record<Field, readonly [number, number]> = {
  year: [1000, 9999],
  month: [1, 12],
  day: [1, 28],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 59],
};

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function timestampText(options: TimestampTextOptions = {}): fc.Arbitrary<string> {
  const field = (name: Field) => {
    const [min, max] = options.ranges?.[name] ?? VALID[name];
    return fc.integer({ min, max });
  };
  return fc
    .record({
      year: field('year'),
      month: field('month'),
      day: field('day'),
      hour: field('hour'),
      minute: field('minute'),
      second: field('second'),
      separator: options.separator ?? fc.constant('T'),
      fraction: options.fraction ?? fc.constant(''),
      zone: options.zone ?? fc.constant('Z'),
    })
    .map(
      (t) =>
        `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}${t.separator}${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}${t.fraction}${t.zone}`,
    );
}
