// PostgreSQL timestamptz text → ISO without a Date (db/database.ts): exactly what node-postgres's
// own parser followed by toISOString() gives, for every form it accepts.
import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isoFromPostgresUtc } from '../../src/db/database.js';
import { timestampText } from '../helpers/timestamps.js';

const parse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (text: string) => Date;

describe('isoFromPostgresUtc', () => {
  it('agrees with node-postgres and toISOString on every UTC timestamp PostgreSQL may write', () => {
    const text = timestampText({
      separator: fc.constant(' '),
      fraction: fc.option(fc.stringMatching(/^\d{1,6}$/)).map((digits) => (digits === null ? '' : `.${digits}`)),
      zone: fc.constant('+00'),
    });
    fc.assert(fc.property(text, (value) => isoFromPostgresUtc(value) === parse(value).toISOString()), { numRuns: 20_000 });
  });

  it.each([
    ['2026-12-01 17:00:00+00', '2026-12-01T17:00:00.000Z'],
    ['2026-12-01 17:00:00.5+00', '2026-12-01T17:00:00.500Z'],
    ['2026-12-01 17:00:00.123456+00', '2026-12-01T17:00:00.123Z'],
  ])('reads %s as %s', (value, expected) => {
    expect(isoFromPostgresUtc(value)).toBe(expected);
  });

  it.each(['2026-12-01 18:00:00+01', '2026-12-01 17:00:00+00:30', '0099-01-01 00:00:00+00', '2026-12-01 17:00:00+00 BC', 'infinity', '2026-12-01'])(
    'leaves %s to node-postgres',
    (value) => {
      expect(isoFromPostgresUtc(value)).toBeUndefined();
    },
  );
});
