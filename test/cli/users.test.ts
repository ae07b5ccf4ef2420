// ctms list-users, deactivate and reset-password against the test database (run in this process;
// the password from a real process's standard input is tested in process.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD_LENGTH } from '../../src/cli/password.js';
import { verifyPassword } from '../../src/lib/hash.js';
import { PasswordSchema } from '../../src/modules/users/users.schemas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { cliEnv, fakeTerminal, liveSession, runInProcess, sessionsOf, userRow } from './harness.js';

let t: TestDatabase;
let env: Record<string, string>;
const ids: Record<string, number> = {};

const run = (...argv: string[]) => runInProcess(env, argv);

beforeAll(async () => {
  t = await createTestDatabase();
  env = cliEnv(t.url);
  for (const [username, role] of [['Ada', 'manager'], ['bob', 'developer'], ['cyd', 'developer'], ['dee', 'auditor']]) {
    const res = await runInProcess(env, ['create-user', '--username', username!, '--email', `${username!.toLowerCase()}@example.com`, '--role', role!],
      fakeTerminal('first-password\r', 'first-password\r'));
    expect(res.code, res.err).toBe(0);
    ids[username!] = Number(res.out);
  }
});
afterAll(async () => {
  await t.cleanup();
});

describe('ctms list-users', () => {
  it('prints a table of every user: id, username, e-mail, role, active, verified', async () => {
    const res = await run('list-users');
    expect(res).toMatchObject({ code: 0, err: '' });
    const lines = res.out.split('\n');
    expect(lines[0]).toMatch(/^id\s+username\s+e-mail\s+role\s+active\s+verified$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/))).toEqual([
      [String(ids.Ada), 'Ada', 'ada@example.com', 'manager', 'yes', 'yes'],
      [String(ids.bob), 'bob', 'bob@example.com', 'developer', 'yes', 'yes'],
      [String(ids.cyd), 'cyd', 'cyd@example.com', 'developer', 'yes', 'yes'],
      [String(ids.dee), 'dee', 'dee@example.com', 'auditor', 'yes', 'yes'],
    ]);
    // Aligned columns: every row starts its e-mail where the header starts it.
    const column = lines[0]!.indexOf('e-mail');
    for (const line of lines.slice(1)) expect(line.slice(column)).toMatch(/^\S+@example\.com /);
  });

  it('shows only the users of one role with --role', async () => {
    const res = await run('list-users', '--role', 'developer');
    expect(res.code).toBe(0);
    expect(res.out.split('\n').slice(1).map((line) => line.split(/\s+/)[1])).toEqual(['bob', 'cyd']);
  });

  it('says so when no user has the role, and refuses an unknown role', async () => {
    await t.handle.db.updateTable('users').set({ role: 'manager' }).where('id', '=', ids.dee!).execute();
    expect(await run('list-users', '--role', 'auditor')).toMatchObject({ code: 0, out: 'No users with the role auditor.' });
    await t.handle.db.updateTable('users').set({ role: 'auditor' }).where('id', '=', ids.dee!).execute();
    const bad = await run('list-users', '--role', 'admin');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--role must be one of manager, developer, auditor');
  });
});

describe('ctms deactivate', () => {
  it('deactivates the user and revokes every session of theirs, and of nobody else', async () => {
    const bobSessions = [await liveSession(t.handle.db, ids.bob!), await liveSession(t.handle.db, ids.bob!)];
    const cydSession = await liveSession(t.handle.db, ids.cyd!);
    const res = await run('deactivate', '--username', 'BOB');
    expect(res).toMatchObject({ code: 0, err: '', out: 'bob is deactivated; 2 sessions revoked.' });
    expect(Boolean((await userRow(t.handle.db, 'bob')).is_active)).toBe(false);
    const revoked = await sessionsOf(t.handle.db, ids.bob!);
    expect(revoked.map((s) => s.id)).toEqual(bobSessions);
    for (const session of revoked) expect(session.revoked_at).toEqual(expect.any(String));
    expect(await sessionsOf(t.handle.db, ids.cyd!)).toEqual([{ id: cydSession, revoked_at: null }]);
    expect((await run('list-users', '--role', 'developer')).out).toMatch(/^\d+\s+bob\s+\S+\s+developer\s+no\s+yes$/m);
  });

  it('says so when the user was already inactive', async () => {
    expect(await run('deactivate', '--username', 'bob')).toMatchObject({ code: 0, out: 'bob was already inactive; 0 sessions revoked.' });
  });

  it('exits 1 for an unknown username', async () => {
    expect(await run('deactivate', '--username', 'ghost')).toMatchObject({ code: 1, out: '', err: 'Error: User not found: ghost' });
  });
});

describe('ctms reset-password', () => {
  it('uses the limits of the API', () => {
    expect(PASSWORD_LENGTH).toEqual({ min: PasswordSchema.minLength, max: PasswordSchema.maxLength });
  });

  it('asks twice at the prompt without echo, hashes with BCRYPT_ROUNDS and revokes every session', async () => {
    const sessions = [await liveSession(t.handle.db, ids.cyd!), await liveSession(t.handle.db, ids.cyd!)];
    const terminal = fakeTerminal('brand-new-secret\r', 'brand-new-secret\r');
    const res = await runInProcess(env, ['reset-password', '--username', 'cyd'], terminal);
    expect(res).toMatchObject({ code: 0, err: '' });
    expect(res.out).toMatch(/^Password of cyd changed; 3 sessions revoked\.$/);
    expect(terminal.shown()).toBe('New password: \nRepeat it: \n');
    expect(terminal.stdin.rawModes).toEqual([true, false, true, false]);
    const row = await userRow(t.handle.db, 'cyd');
    expect(row.hashed_password).toMatch(/^\$2[aby]\$04\$/);
    expect(await verifyPassword('brand-new-secret', row.hashed_password)).toBe(true);
    expect(await verifyPassword('first-password', row.hashed_password)).toBe(false);
    const after = await sessionsOf(t.handle.db, ids.cyd!);
    expect(after.map((s) => s.id)).toEqual(expect.arrayContaining(sessions));
    for (const session of after) expect(session.revoked_at).toEqual(expect.any(String));
  });

  it.each([
    ['the two entries differ', ['long-enough-one\r', 'long-enough-two\r'], 'The passwords do not match'],
    ['it is too short', ['short\r'], 'The password must be 8-100 characters'],
    ['it is too long', [`${'x'.repeat(101)}\r`], 'The password must be 8-100 characters'],
    ['it is cancelled with Ctrl-C', ['half\u0003'], 'Cancelled'],
  ])('changes nothing when %s', async (_label, keys, message) => {
    const before = await userRow(t.handle.db, 'dee');
    const session = await liveSession(t.handle.db, ids.dee!);
    const res = await runInProcess(env, ['reset-password', '--username', 'dee'], fakeTerminal(...keys));
    expect(res).toMatchObject({ code: 1, out: '' });
    expect(res.err).toContain(message);
    expect((await userRow(t.handle.db, 'dee')).hashed_password).toBe(before.hashed_password);
    expect((await sessionsOf(t.handle.db, ids.dee!)).find((s) => s.id === session)?.revoked_at).toBeNull();
  });

  it('edits at the prompt: Backspace erases, Ctrl-U clears, arrow keys are ignored', async () => {
    const typed = 'wrong\u0015edit-me-x\u007f\u001b[D\u001b[A!\r';
    const res = await runInProcess(env, ['reset-password', '--username', 'dee'], fakeTerminal(typed, 'edit-me-!\r'));
    expect(res.code, res.err).toBe(0);
    expect(await verifyPassword('edit-me-!', (await userRow(t.handle.db, 'dee')).hashed_password)).toBe(true);
  });

  it('asks without echo, instead of reading a visible line, for --password-stdin on a terminal', async () => {
    const terminal = fakeTerminal('stdin-on-a-tty\r', 'stdin-on-a-tty\r');
    const res = await runInProcess(env, ['reset-password', '--username', 'dee', '--password-stdin'], terminal);
    expect(res.code, res.err).toBe(0);
    expect(terminal.shown()).toBe('New password: \nRepeat it: \n');
    expect(await verifyPassword('stdin-on-a-tty', (await userRow(t.handle.db, 'dee')).hashed_password)).toBe(true);
  });

  it('tells that an inactive user stays inactive', async () => {
    const res = await runInProcess(env, ['reset-password', '--username', 'bob'], fakeTerminal('another-secret\r', 'another-secret\r'));
    expect(res.code).toBe(0);
    expect(res.out).toContain('bob is inactive');
  });

  it('exits 1 for an unknown username before asking for a password', async () => {
    const terminal = fakeTerminal('never-typed-in\r');
    const res = await runInProcess(env, ['reset-password', '--username', 'ghost'], terminal);
    expect(res).toMatchObject({ code: 1, err: 'Error: User not found: ghost' });
    expect(terminal.shown()).toBe('');
  });
});
