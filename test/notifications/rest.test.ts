// The notification REST routes (§7): the caller's own notifications only, newest first, filters and
// paging, unread count, one, mark_read and mark_all_read without a body — both slash forms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('notification routes', () => {
  let t: TestApp;
  let alice: Session;
  let bob: Session;
  let aliceIds: number[];
  let bobId: number;

  beforeAll(async () => {
    t = await buildTestApp();
    alice = await signIn(t.app, { role: 'developer' });
    bob = await signIn(t.app, { role: 'developer' });
    const taskId = await createTask(t.db, { assignedTo: alice.user.id, title: 'Shared' });
    const made = [];
    for (let i = 0; i < 5; i += 1) {
      made.push(
        ...(await insertNotifications(
          t.db,
          [{ userId: alice.user.id, taskId, taskTitle: 'Shared', message: `note ${i}`, type: 'status_change' }],
          new Date(Date.UTC(2026, 10, 1, 9, i)).toISOString(),
        )),
      );
    }
    aliceIds = made.map((n) => n.id);
    const [bobs] = await insertNotifications(t.db, [{ userId: bob.user.id, taskId, taskTitle: 'Shared', message: 'for bob', type: 'task_assigned' }], new Date().toISOString());
    bobId = bobs!.id;
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (s: Session, url: string) => t.app.inject({ method: 'GET', url, headers: s.headers });

  it.each(['/api/notifications', '/api/notifications/'])('lists the caller\'s notifications newest first at %s', async (url) => {
    const res = await get(alice, url);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.map((n: { id: number }) => n.id)).toEqual([...aliceIds].reverse());
    expect(res.headers['x-total-count']).toBe('5');
    expect(body[0]).toEqual({
      id: aliceIds[4],
      user_id: alice.user.id,
      task_id: expect.any(Number),
      task: body[0].task_id,
      task_title: 'Shared',
      message: 'note 4',
      notification_type: 'status_change',
      read: false,
      is_delivered: false,
      created_at: '2026-11-01T09:04:00.000Z',
    });
  });

  it('pages with limit and offset and filters unread', async () => {
    const page = await get(alice, '/api/notifications?limit=2&offset=1');
    expect(page.json().map((n: { id: number }) => n.id)).toEqual([aliceIds[3], aliceIds[2]]);
    expect(page.headers['x-total-count']).toBe('5');
    await t.app.inject({ method: 'POST', url: `/api/notifications/${aliceIds[0]}/mark_read`, headers: alice.headers });
    const unread = await get(alice, '/api/notifications?unread=true');
    expect(unread.json().map((n: { id: number }) => n.id)).not.toContain(aliceIds[0]);
    expect(unread.headers['x-total-count']).toBe('4');
    expect(unread.json().every((n: { read: boolean }) => !n.read)).toBe(true);
  });

  it.each(['/api/notifications/unread_count', '/api/notifications/unread_count/'])('counts unread notifications at %s', async (url) => {
    const res = await get(bob, url);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ count: 1 });
  });

  it('reads one of the caller\'s notifications and answers 404 for another user\'s, as for a missing one', async () => {
    expect((await get(bob, `/api/notifications/${bobId}/`)).json()).toMatchObject({ id: bobId, message: 'for bob' });
    const foreign = await get(alice, `/api/notifications/${bobId}`);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toEqual({ detail: 'Notification not found' });
    expect((await get(alice, '/api/notifications/999999')).statusCode).toBe(404);
  });

  it('marks one read with no body and no Content-Type, or with an empty JSON body, and never another user\'s', async () => {
    const plain = await t.app.inject({ method: 'POST', url: `/api/notifications/${aliceIds[1]}/mark_read`, headers: alice.headers });
    expect(plain.statusCode).toBe(200);
    expect(typeof plain.json().detail).toBe('string');
    const withBody = await t.app.inject({
      method: 'POST',
      url: `/api/notifications/${aliceIds[2]}/mark_read/`,
      headers: { ...alice.headers, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(withBody.statusCode).toBe(200);
    const foreign = await t.app.inject({ method: 'POST', url: `/api/notifications/${bobId}/mark_read`, headers: alice.headers });
    expect(foreign.statusCode).toBe(404);
    const bobs = await t.db.selectFrom('notifications').select('read').where('id', '=', bobId).executeTakeFirstOrThrow();
    expect(Boolean(bobs.read)).toBe(false);
    const readIds = (await t.db.selectFrom('notifications').select(['id', 'read']).where('user_id', '=', alice.user.id).execute())
      .filter((n) => Boolean(n.read))
      .map((n) => n.id)
      .sort((a, b) => a - b);
    expect(readIds).toEqual([aliceIds[0], aliceIds[1], aliceIds[2]]);
  });

  it('marks all of the caller\'s notifications read, counting those that changed, and leaves others\' alone', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/notifications/mark_all_read/',
      headers: { ...alice.headers, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ detail: expect.any(String), updated_count: 2 });
    expect((await get(alice, '/api/notifications/unread_count')).json()).toEqual({ count: 0 });
    expect((await get(bob, '/api/notifications/unread_count')).json()).toEqual({ count: 1 });
    const again = await t.app.inject({ method: 'POST', url: '/api/notifications/mark_all_read', headers: alice.headers });
    expect(again.json().updated_count).toBe(0);
  });

  it.each([
    ['GET', '/api/notifications'],
    ['GET', '/api/notifications/unread_count'],
    ['GET', '/api/notifications/1'],
    ['POST', '/api/notifications/1/mark_read'],
    ['POST', '/api/notifications/mark_all_read'],
  ] as const)('%s %s requires authentication', async (method, url) => {
    const res = await t.app.inject({ method, url });
    expect(res.statusCode).toBe(401);
    expect(typeof res.json().detail).toBe('string');
  });

  it.each(['abc', '0', '-3', '1.5', '99999999999'])('answers 422 for the notification id %s', async (id) => {
    const res = await get(alice, `/api/notifications/${id}`);
    expect(res.statusCode).toBe(422);
    expect(typeof res.json().detail).toBe('string');
  });

  it.each(['limit=0', 'limit=501', 'limit=x', 'offset=-1', 'unread=maybe'])('answers 422 for the query %s', async (query) => {
    const res = await get(alice, `/api/notifications?${query}`);
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].loc[0]).toBe('query');
  });

  it('answers 403 to an unverified user', async () => {
    const unverified = await signIn(t.app, { verified: false });
    const res = await get(unverified, '/api/notifications');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ detail: 'Email not verified' });
  });
});
