// Comments on tasks (§12): who reads and writes them per role, @mentions and the notifications they
// produce (REST and a real socket), the task history, edits and deletes, and bad bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createUser } from '../helpers/factories.js';
import { listen, openSocket, socketUrl } from '../helpers/sockets.js';
import { createTask, signInCast, type Session } from '../helpers/tasks.js';

describe('task comments', () => {
  let t: TestApp;
  let manager: Session;
  let assignee: Session;
  let otherDev: Session;
  let auditor: Session;
  let taskId: number;
  const clock = fixedClock('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    t = await buildTestApp({}, { clock });
    ({ manager, dev: assignee, otherDev, auditor } = await signInCast(t.app));
    taskId = await createTask(t.db, { assignedTo: assignee.user.id, createdBy: manager.user.id, title: 'Ship it' });
  });
  afterAll(async () => {
    await t.close();
  });

  const newTask = () => createTask(t.db, { assignedTo: assignee.user.id, createdBy: manager.user.id, title: 'Discuss me' });
  const post = (who: Session, id: number, body: unknown, slash = '') =>
    t.app.inject({ method: 'POST', url: `/api/tasks/${id}/comments${slash}`, headers: who.headers, payload: { body } });
  const list = (who: Session, id: number, query = '') =>
    t.app.inject({ method: 'GET', url: `/api/tasks/${id}/comments${query}`, headers: who.headers });
  const commentRows = (id: number) => t.db.selectFrom('task_comments').selectAll().where('task_id', '=', id).orderBy('id').execute();
  const notificationsOf = (userId: number, id: number) =>
    t.db
      .selectFrom('notifications')
      .select(['notification_type', 'message', 'task_id'])
      .where('user_id', '=', userId)
      .where('task_id', '=', id)
      .orderBy('id')
      .execute();
  const historyOf = (id: number) =>
    t.db.selectFrom('task_history').select(['action', 'changes', 'user_id']).where('task_id', '=', id).orderBy('id').execute();

  describe('visibility per role', () => {
    it.each([
      ['the manager', () => manager],
      ['the assignee', () => assignee],
    ])('lets %s write and read, oldest first, with both slash forms', async (_name, who) => {
      const id = await newTask();
      const first = await post(who(), id, 'First!');
      expect(first.statusCode).toBe(201);
      expect(first.json()).toEqual({
        id: expect.any(Number),
        task_id: id,
        user_id: who().user.id,
        username: who().user.username,
        body: 'First!',
        created_at: expect.stringMatching(/Z$/),
        updated_at: first.json().created_at,
      });
      expect((await post(who(), id, 'Second', '/')).statusCode).toBe(201);
      for (const slash of ['', '/']) {
        const res = await list(who(), id, slash);
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-total-count']).toBe('2');
        expect(res.json().map((c: { body: string }) => c.body)).toEqual(['First!', 'Second']);
      }
    });

    it('lets an auditor read but not write (403, nothing stored)', async () => {
      const id = await newTask();
      await post(manager, id, 'visible to auditors');
      expect((await list(auditor, id)).json()).toHaveLength(1);
      const res = await post(auditor, id, 'me too');
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ detail: 'Auditors cannot write comments' });
      expect(await commentRows(id)).toHaveLength(1);
    });

    it('answers 404 to another developer for reading, writing, editing and deleting, changing nothing', async () => {
      const id = await newTask();
      const comment = (await post(assignee, id, 'private')).json();
      const attempts = [
        list(otherDev, id),
        post(otherDev, id, 'let me in'),
        t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}/comments/${comment.id}`, headers: otherDev.headers, payload: { body: 'x' } }),
        t.app.inject({ method: 'DELETE', url: `/api/tasks/${id}/comments/${comment.id}`, headers: otherDev.headers }),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.statusCode).toBe(404);
        expect(res.json()).toEqual({ detail: 'Task not found' });
      }
      expect((await commentRows(id)).map((c) => c.body)).toEqual(['private']);
    });

    it('answers 404 for a missing task, and for a comment of another task', async () => {
      expect((await list(manager, 999_999)).statusCode).toBe(404);
      expect((await post(manager, 999_999, 'hello')).statusCode).toBe(404);
      const a = await newTask();
      const b = await newTask();
      const comment = (await post(manager, a, 'on a')).json();
      const res = await t.app.inject({ method: 'DELETE', url: `/api/tasks/${b}/comments/${comment.id}`, headers: manager.headers });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ detail: 'Comment not found' });
      expect(await commentRows(a)).toHaveLength(1);
    });

    it('asks for authentication', async () => {
      const res = await t.app.inject({ method: 'GET', url: `/api/tasks/${taskId}/comments` });
      expect(res.statusCode).toBe(401);
      expect(typeof res.json().detail).toBe('string');
    });

    it('pages with limit and offset', async () => {
      const id = await newTask();
      for (const body of ['a', 'b', 'c']) await post(manager, id, body);
      const res = await list(manager, id, '?limit=2&offset=1');
      expect(res.headers['x-total-count']).toBe('3');
      expect(res.json().map((c: { body: string }) => c.body)).toEqual(['b', 'c']);
      expect((await list(manager, id, '?limit=0')).statusCode).toBe(422);
    });
  });

  describe('mentions and notifications', () => {
    it('tells the assignee of a comment by someone else, and never the author', async () => {
      const id = await newTask();
      await post(manager, id, 'Please look at this');
      expect(await notificationsOf(assignee.user.id, id)).toEqual([
        { notification_type: 'comment_added', message: `${manager.user.username} commented on task "Discuss me"`, task_id: id },
      ]);
      await post(assignee, id, 'Done');
      expect(await notificationsOf(assignee.user.id, id)).toHaveLength(1);
      expect(await notificationsOf(manager.user.id, id)).toHaveLength(0);
    });

    it('tells every mentioned user who can see the task, once, and ignores the rest', async () => {
      const id = await newTask();
      const secondManager = await createUser(t.app, { role: 'manager' });
      const inactive = await createUser(t.app, { role: 'manager', active: false });
      const body =
        `@${secondManager.username} and @${auditor.user.username}, again @${secondManager.username.toUpperCase()}. ` +
        `Also @${otherDev.user.username} (cannot see it), @nobody_${id} (unknown), @${inactive.username}, ` +
        `@${manager.user.username} (the author), and mail@${secondManager.username} is not a mention.`;
      const res = await post(manager, id, body);
      expect(res.statusCode).toBe(201);
      const mentioned = `${manager.user.username} mentioned you in a comment on task "Discuss me"`;
      expect(await notificationsOf(secondManager.id, id)).toEqual([{ notification_type: 'mentioned', message: mentioned, task_id: id }]);
      expect(await notificationsOf(auditor.user.id, id)).toEqual([{ notification_type: 'mentioned', message: mentioned, task_id: id }]);
      expect(await notificationsOf(otherDev.user.id, id)).toEqual([]);
      expect(await notificationsOf(inactive.id, id)).toEqual([]);
      expect(await notificationsOf(manager.user.id, id)).toEqual([]);
      // The assignee was not mentioned: the plain comment notification.
      expect((await notificationsOf(assignee.user.id, id)).map((n) => n.notification_type)).toEqual(['comment_added']);
    });

    it('gives a mentioned assignee one notification (mentioned), and reads punctuation after a name', async () => {
      const id = await newTask();
      await post(manager, id, `Over to you, @${assignee.user.username}. Thanks @${assignee.user.username}!`);
      expect((await notificationsOf(assignee.user.id, id)).map((n) => n.notification_type)).toEqual(['mentioned']);
    });

    it('notifies users an edit newly mentions, and nobody else', async () => {
      const id = await newTask();
      const comment = (await post(assignee, id, `cc @${manager.user.username}`)).json();
      const edited = await t.app.inject({
        method: 'PATCH',
        url: `/api/tasks/${id}/comments/${comment.id}/`,
        headers: assignee.headers,
        payload: { body: `cc @${manager.user.username} @${auditor.user.username}` },
      });
      expect(edited.statusCode).toBe(200);
      expect((await notificationsOf(manager.user.id, id)).map((n) => n.notification_type)).toEqual(['mentioned']);
      expect((await notificationsOf(auditor.user.id, id)).map((n) => n.notification_type)).toEqual(['mentioned']);
    });

    it('reaches the recipient through the REST list and a live socket', async () => {
      const address = await listen(t.app);
      const socket = await openSocket(socketUrl(address, assignee.accessToken));
      try {
        await socket.roundTrip();
        const id = await newTask();
        await post(manager, id, `@${assignee.user.username} ping`);
        // The backlog of earlier notifications arrives first: wait for this task's.
        const pushed = await socket.next((m) => m.type === 'notification' && (m.notification as { task_id: number }).task_id === id);
        expect(pushed.notification).toMatchObject({ task_id: id, notification_type: 'mentioned', user_id: assignee.user.id });
        const rest = await t.app.inject({ method: 'GET', url: '/api/notifications?limit=1', headers: assignee.headers });
        expect(rest.json()[0]).toMatchObject({ task_id: id, notification_type: 'mentioned', task_title: 'Discuss me' });
      } finally {
        await socket.close();
      }
    });
  });

  describe('edit and delete', () => {
    it('lets the author edit: created_at stays, updated_at moves, history notes it', async () => {
      const id = await newTask();
      const comment = (await post(assignee, id, 'tpyo')).json();
      clock.set('2026-11-25T10:10:00Z');
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/tasks/${id}/comments/${comment.id}`,
        headers: assignee.headers,
        payload: { body: '  typo  ' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: comment.id, body: 'typo', created_at: comment.created_at });
      expect(comment.created_at).toBe('2026-11-25T10:00:00.000Z');
      expect(res.json().updated_at).toBe('2026-11-25T10:10:00.000Z');
      clock.set('2026-11-25T10:00:00Z');
      const [row] = await commentRows(id);
      expect(row?.body).toBe('typo');
      expect((await historyOf(id)).map((h) => h.action)).toEqual(['comment_added', 'comment_edited']);
    });

    it('refuses an edit by anyone but the author, a manager included (403, unchanged)', async () => {
      const id = await newTask();
      const comment = (await post(assignee, id, 'mine')).json();
      for (const who of [manager, auditor]) {
        const res = await t.app.inject({
          method: 'PATCH',
          url: `/api/tasks/${id}/comments/${comment.id}`,
          headers: who.headers,
          payload: { body: 'theirs' },
        });
        expect(res.statusCode).toBe(403);
        expect(res.json()).toEqual({ detail: 'Only the author can edit a comment' });
      }
      expect((await commentRows(id)).map((c) => c.body)).toEqual(['mine']);
    });

    it('lets a manager delete any comment and the author their own, not an auditor; history notes it', async () => {
      const id = await newTask();
      const a = (await post(assignee, id, 'one')).json();
      const b = (await post(assignee, id, 'two')).json();
      const del = (who: Session, cid: number) =>
        t.app.inject({ method: 'DELETE', url: `/api/tasks/${id}/comments/${cid}`, headers: who.headers });
      const refused = await del(auditor, a.id);
      expect(refused.statusCode).toBe(403);
      expect(refused.json()).toEqual({ detail: 'Only the author or a manager can delete a comment' });
      expect((await del(manager, a.id)).statusCode).toBe(204);
      expect((await del(assignee, b.id)).statusCode).toBe(204);
      expect((await del(assignee, b.id)).statusCode).toBe(404);
      expect(await commentRows(id)).toEqual([]);
      expect((await historyOf(id)).map((h) => [h.action, h.user_id])).toEqual([
        ['comment_added', assignee.user.id],
        ['comment_added', assignee.user.id],
        ['comment_deleted', manager.user.id],
        ['comment_deleted', assignee.user.id],
      ]);
    });

    it('shows comment activity in the history API', async () => {
      const id = await newTask();
      await post(manager, id, 'noted');
      const res = await t.app.inject({ method: 'GET', url: `/api/tasks/${id}/history`, headers: assignee.headers });
      expect(res.json()).toEqual([expect.objectContaining({ action: 'comment_added', changes: ['comment'], user_id: manager.user.id })]);
    });

    it('goes with its task', async () => {
      const id = await newTask();
      await post(manager, id, 'bye');
      expect((await t.app.inject({ method: 'DELETE', url: `/api/tasks/${id}`, headers: manager.headers })).statusCode).toBe(204);
      expect(await commentRows(id)).toEqual([]);
    });
  });

  describe('bad bodies', () => {
    it.each([
      ['an empty body', ''],
      ['a blank body', ' \n\t '],
      ['a body over 5000 characters', 'x'.repeat(5001)],
      ['a NUL character', 'before\u0000after'],
      ['a number', 42],
      ['null', null],
    ])('refuses %s with 422 and a string detail, storing nothing', async (_name, body) => {
      const id = await newTask();
      const res = await post(manager, id, body);
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
      expect(await commentRows(id)).toEqual([]);
      expect(await historyOf(id)).toEqual([]);
    });

    it('accepts exactly 5000 characters', async () => {
      const id = await newTask();
      expect((await post(manager, id, 'y'.repeat(5000))).statusCode).toBe(201);
    });

    it('refuses a request body over the size limit with 413', async () => {
      const id = await newTask();
      const res = await post(manager, id, 'z'.repeat(2 * 1024 * 1024));
      expect(res.statusCode).toBe(413);
      expect(typeof res.json().detail).toBe('string');
      expect(await commentRows(id)).toEqual([]);
    });

    it('refuses a blank or NUL edit, keeping the comment', async () => {
      const id = await newTask();
      const comment = (await post(manager, id, 'keep me')).json();
      for (const body of ['   ', 'a\u0000b']) {
        const res = await t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}/comments/${comment.id}`, headers: manager.headers, payload: { body } });
        expect(res.statusCode).toBe(422);
      }
      expect((await commentRows(id)).map((c) => c.body)).toEqual(['keep me']);
    });
  });

  it('is audited', async () => {
    const id = await newTask();
    await post(manager, id, 'audit me');
    await t.app.audit.flush();
    const rows = await t.db.selectFrom('api_audit_logs').select(['method', 'status_code']).where('endpoint', '=', `/api/tasks/${id}/comments`).execute();
    expect(rows).toEqual([{ method: 'POST', status_code: 201 }]);
  });
});
