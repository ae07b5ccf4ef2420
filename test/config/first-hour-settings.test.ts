// The settings of a pleasant first hour: HOST on loopback unless told, WORK_HOURS_START/END, and the
// ADMIN_* bootstrap (all three or none, by the API's rules, the password never echoed).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { problemsOf } from '../helpers/config.js';

const strongSecret = '5f0c9e3b7a12d84c6e0b9f3a21c7d5e8b4a69f0e3d2c1b7a8e5f4d3c2b1a0f9e';
const load = (env: Record<string, string>) => loadConfig(env, { dataDir: null });

describe('HOST', () => {
  it.each(['development', 'test', 'production'])('listens on 127.0.0.1 by default in %s', (environment) => {
    expect(load({ ENVIRONMENT: environment, SECRET_KEY: strongSecret }).host).toBe('127.0.0.1');
  });

  it('listens where HOST says (the image sets 0.0.0.0)', () => {
    expect(load({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });
});

describe('WORK_HOURS_START / WORK_HOURS_END', () => {
  it('defaults to 09:00-18:00', () => {
    expect(load({})).toMatchObject({ workHoursStart: '09:00', workHoursEnd: '18:00' });
  });

  it.each([
    ['07:30', '16:00', '07:30', '16:00'],
    ['7:30', '16:45', '07:30', '16:45'],
    ['00:00', '24:00', '00:00', '24:00'],
  ])('reads %s-%s as %s-%s', (start, end, expectedStart, expectedEnd) => {
    expect(load({ WORK_HOURS_START: start, WORK_HOURS_END: end })).toMatchObject({ workHoursStart: expectedStart, workHoursEnd: expectedEnd });
  });

  it.each([
    [{ WORK_HOURS_START: '9am' }, 'WORK_HOURS_START must be a time as HH:MM between 00:00 and 23:59 (got "9am")'],
    [{ WORK_HOURS_START: '24:00' }, 'WORK_HOURS_START must be a time as HH:MM between 00:00 and 23:59 (got "24:00")'],
    [{ WORK_HOURS_END: '18:60' }, 'WORK_HOURS_END must be a time as HH:MM between 00:00 and 24:00 (got "18:60")'],
    [{ WORK_HOURS_END: '25:00' }, 'WORK_HOURS_END must be a time as HH:MM between 00:00 and 24:00 (got "25:00")'],
    [{ WORK_HOURS_START: '18:00', WORK_HOURS_END: '09:00' }, 'WORK_HOURS_START must be earlier than WORK_HOURS_END (got 18:00 to 09:00)'],
    [{ WORK_HOURS_START: '10:00', WORK_HOURS_END: '10:00' }, 'WORK_HOURS_START must be earlier than WORK_HOURS_END (got 10:00 to 10:00)'],
    [{ WORK_HOURS_START: '19:00' }, 'WORK_HOURS_START must be earlier than WORK_HOURS_END (got 19:00 to 18:00)'],
  ])('refuses %o with a clear message', (env, problem) => {
    expect(problemsOf(env)).toEqual([problem]);
  });
});

describe('ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD', () => {
  const admin = { ADMIN_USERNAME: 'root_admin', ADMIN_EMAIL: 'admin@example.com', ADMIN_PASSWORD: 'Correct-Horse-9' };

  it('is off when none is set, and read as a whole when all three are', () => {
    expect(load({}).admin).toBeNull();
    expect(load(admin).admin).toEqual({ username: 'root_admin', email: 'admin@example.com', password: 'Correct-Horse-9' });
  });

  it.each([
    [['ADMIN_PASSWORD'], 'ADMIN_PASSWORD is missing'],
    [['ADMIN_EMAIL', 'ADMIN_PASSWORD'], 'ADMIN_EMAIL and ADMIN_PASSWORD are missing'],
    [['ADMIN_USERNAME'], 'ADMIN_USERNAME is missing'],
  ])('refuses a partial setting (without %o)', (left, missing) => {
    const env: Record<string, string> = { ...admin };
    for (const name of left) delete env[name];
    expect(problemsOf(env)).toEqual([`ADMIN_USERNAME, ADMIN_EMAIL and ADMIN_PASSWORD go together: ${missing}`]);
  });

  it('refuses a weak password, a bad username and a bad e-mail by the API rules, never echoing the password', () => {
    const problems = problemsOf({ ADMIN_USERNAME: 'a b', ADMIN_EMAIL: 'not-an-address', ADMIN_PASSWORD: 'short7' });
    expect(problems).toEqual([
      'ADMIN_USERNAME must be 3-150 characters: letters, digits and ._@+-',
      'ADMIN_EMAIL must be a valid e-mail address (got "not-an-address")',
      'ADMIN_PASSWORD must be 8-100 characters',
    ]);
    expect(problems.join('\n')).not.toContain('short7');
  });
});
