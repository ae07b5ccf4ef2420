import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { countRows, createTag, createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('tags', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let auditor: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    auditor = await signIn(t.app, { role: 'auditor' });
  });
  afterAll(async () => {
    await t.close();
  });

  const post = (s: Session, payload: unknown) =>
    t.app.inject({ method: 'POST', url: '/api/tags', headers: s.headers, payload: payload as object });

  it.each([
    ['manager', 201],
    ['developer', 201],
    ['auditor', 403],
  ] as const)('a %s creating a tag answers %i', async (role, status) => {
    const caller = { manager, developer: dev, auditor }[role];
    const res = await post(caller, { name: `made-by-${role}` });
    expect(res.statusCode).toBe(status);
    if (status === 201) expect(res.json()).toEqual({ id: expect.any(Number), name: `made-by-${role}` });
    else expect(typeof res.json().detail).toBe('string');
  });

  it('answers 200 with the existing tag for a name differing only in case or surrounding spaces', async () => {
    const first = await post(dev, { name: 'Backend' });
    expect(first.statusCode).toBe(201);
    const before = await countRows(t.db, 'tags');
    const again = await post(manager, { name: '  bACKEND ' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(await countRows(t.db, 'tags')).toBe(before);
  });

  it.each([
    ['Ärger', 'äRGER'],
    ['ΟΔΟΣ', 'οδοσ'],
    ['İstanbul', 'istanbul'],
  ])('treats %s and %s as the same tag on every database', async (name, sameName) => {
    const first = await post(dev, { name });
    expect(first.statusCode).toBe(201);
    const again = await post(manager, { name: sameName });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    await t.db.deleteFrom('tags').where('id', '=', first.json().id).execute();
  });

  it('counts the 50-character limit in characters, not UTF-16 units', async () => {
    const res = await post(dev, { name: '😀'.repeat(50) });
    expect(res.statusCode).toBe(201);
    expect((await post(dev, { name: '😀'.repeat(51) })).statusCode).toBe(422);
    await t.db.deleteFrom('tags').where('id', '=', res.json().id).execute();
  });

  it('stores the name trimmed and accepts 50 characters', async () => {
    expect((await post(dev, { name: '  spaced  ' })).json().name).toBe('spaced');
    expect((await post(dev, { name: 'y'.repeat(50) })).statusCode).toBe(201);
  });

  it.each([
    ['an empty name', { name: '' }],
    ['a blank name', { name: '   ' }],
    ['a 51-character name', { name: 'z'.repeat(51) }],
    ['a numeric name', { name: 5 }],
    ['no name', {}],
    ['a list body', ['a']],
  ])('rejects %s with 422', async (_label, payload) => {
    const before = await countRows(t.db, 'tags');
    const res = await post(manager, payload);
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
    expect(await countRows(t.db, 'tags')).toBe(before);
  });

  it('lists every tag to any verified user, ordered by name', async () => {
    await createTag(t.db, 'aaa-first');
    await createTag(t.db, 'ZZZ-last');
    for (const s of [manager, dev, auditor]) {
      const res = await t.app.inject({ method: 'GET', url: '/api/tags/', headers: s.headers });
      expect(res.statusCode).toBe(200);
      const names = res.json().map((tag: { name: string }) => tag.name);
      expect(names[0]).toBe('aaa-first');
      expect(names.at(-1)).toBe('ZZZ-last');
      const byLowercase = (a: string, b: string) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0);
      expect(names).toEqual([...names].sort(byLowercase));
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/tags' })).statusCode).toBe(401);
  });

  it('lets a manager delete a tag, which disappears from its tasks', async () => {
    const tag = await createTag(t.db);
    const keep = await createTag(t.db);
    const task = await createTask(t.db, { assignedTo: manager.user.id, tags: [tag, keep] });
    const res = await t.app.inject({ method: 'DELETE', url: `/api/tags/${tag}`, headers: manager.headers });
    expect(res.statusCode).toBe(204);
    const view = await t.app.inject({ method: 'GET', url: `/api/tasks/${task}`, headers: manager.headers });
    expect(view.json().tags).toEqual([keep]);
  });

  it.each([
    ['developer', 403],
    ['auditor', 403],
  ] as const)('refuses a %s deleting a tag (%i)', async (role, status) => {
    const tag = await createTag(t.db);
    const caller = { developer: dev, auditor }[role];
    expect((await t.app.inject({ method: 'DELETE', url: `/api/tags/${tag}`, headers: caller.headers })).statusCode).toBe(status);
  });

  it('answers 404 for an unknown tag and 422 for a bad id', async () => {
    expect((await t.app.inject({ method: 'DELETE', url: '/api/tags/999999', headers: manager.headers })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/tags/abc', headers: manager.headers })).statusCode).toBe(422);
  });
});
