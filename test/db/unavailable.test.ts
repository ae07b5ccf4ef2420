// Which database errors are the database's fault (a 503 the client may retry) rather than the
// request's: the error handler answers these with the returned detail. The reliability suites
// (npm run test:reliability) provoke each for real; this pins the mapping itself.
import { describe, expect, it } from 'vitest';
import { databaseUnavailableReason, isConcurrencyConflict } from '../../src/db/database.js';

const failure = (code: string | undefined, message = 'failed') => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('databaseUnavailableReason', () => {
  it.each([
    ['ECONNREFUSED', undefined, 'The database is unavailable; please retry'],
    ['ECONNRESET', undefined, 'The database is unavailable; please retry'],
    ['57P01', 'terminating connection due to administrator command', 'The database is unavailable; please retry'],
    ['57P03', 'the database system is starting up', 'The database is unavailable; please retry'],
    ['08006', 'connection failure', 'The database is unavailable; please retry'],
    ['53300', 'too many connections', 'The database is unavailable; please retry'],
    [undefined, 'timeout exceeded when trying to connect', 'The database is unavailable; please retry'],
    [undefined, 'Connection terminated unexpectedly', 'The database is unavailable; please retry'],
    ['57014', 'canceling statement due to statement timeout', 'The database did not answer in time; please retry'],
    ['SQLITE_BUSY', 'database is locked', 'The database is busy; please retry'],
    ['SQLITE_FULL', 'database or disk is full', 'The database is out of storage space'],
    ['53100', 'could not extend file: No space left on device', 'The database is out of storage space'],
    ['SQLITE_IOERR_WRITE', 'disk I/O error', 'The database storage failed'],
  ])('maps %s (%s) to a 503 saying "%s"', (code, message, detail) => {
    expect(databaseUnavailableReason(failure(code, message))).toBe(detail);
  });

  it.each([
    ['23505', 'duplicate key'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed'],
    ['40P01', 'deadlock detected'],
    ['SQLITE_BUSY_SNAPSHOT', 'database is locked'],
    ['42P01', 'relation does not exist'],
    [undefined, 'Cannot read properties of undefined'],
  ])('leaves %s (%s) to the other mappings', (code, message) => {
    expect(databaseUnavailableReason(failure(code, message))).toBeUndefined();
  });

  it('treats a stale SQLite snapshot as a race (409), and a lock wait past the timeout as unavailable (503)', () => {
    expect(isConcurrencyConflict(failure('SQLITE_BUSY_SNAPSHOT'))).toBe(true);
    expect(isConcurrencyConflict(failure('SQLITE_BUSY'))).toBe(false);
  });
});
