// Conflict-safe edits (§12): the ETag of a task and If-Match on PATCH and DELETE — stale writes are
// refused with 412 and change nothing, concurrent writers holding one ETag leave exactly one winner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTag, createTask, signInCast, snapshotTasks, type Session } from '../helpers/tasks.js';

describe('task ETags and If-Match', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let otherDev: Session;
  let auditor: Session;
  const clock = fixedClock('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    t = await buildTestApp({}, { clock });
    ({ manager, dev, otherDev, auditor } = await signInCast(t.app));
  });
  afterAll(async () => {
    await t.close();
  });

  const newTask = () => createTask(t.db, { assignedTo: dev.user.id, createdBy: manager.user.id, title: 'Versioned' });
  const read = (id: number, who: Session = manager) => t.app.inject({ method: 'GET', url: `/api/tasks/${id}`, headers: who.headers });
  const etagOf = async (id: number) => String((await read(id)).headers.etag);
  const patch = (id: number, payload: object, ifMatch?: string, who: Session = manager) =>
    t.app.inject({
      method: 'PATCH',
      url: `/api/tasks/${id}`,
      headers: { ...who.headers, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) },
      payload,
    });
  const remove = (id: number, ifMatch?: string, who: Session = manager) =>
    t.app.inject({
      method: 'DELETE',
      url: `/api/tasks/${id}/`,
      headers: { ...who.headers, ...(ifMatch === undefined ? {} : { 'if-match': ifMatch }) },
    });

  describe('the ETag', () => {
    it('is a strong, quoted validator, stable while nothing changes, on GET, POST and PATCH', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/tasks',
        headers: manager.headers,
        payload: { title: 'Fresh', estimated_hours: 2, deadline: '2026-12-20T12:00:00Z', assigned_to: dev.user.id },
      });
      expect(created.statusCode).toBe(201);
      const tag = String(created.headers.etag);
      expect(tag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect(await etagOf(created.json().id)).toBe(tag);
      expect(await etagOf(created.json().id)).toBe(tag);
      const res = await patch(created.json().id, { title: 'Fresher' }, tag);
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).not.toBe(tag);
      expect(await etagOf(created.json().id)).toBe(res.headers.etag);
    });

    it.each([
      ['a field', async (id: number) => void (await patch(id, { priority: 'high' }))],
      ['its tags', async (id: number) => void (await patch(id, { tags: [await createTag(t.db)] }))],
      ['a new subtask (is_parent)', async (id: number) => void (await createTask(t.db, { assignedTo: dev.user.id, parentTaskId: id }))],
    ])('changes with %s', async (_what, change) => {
      const id = await newTask();
      const before = await etagOf(id);
      await change(id);
      expect(await etagOf(id)).not.toBe(before);
    });

    it('does not change with a comment, which is not part of the task', async () => {
      const id = await newTask();
      const before = await etagOf(id);
      await t.app.inject({ method: 'POST', url: `/api/tasks/${id}/comments`, headers: manager.headers, payload: { body: 'hi' } });
      expect(await etagOf(id)).toBe(before);
    });
  });

  describe('PATCH with If-Match', () => {
    it('applies a fresh write and answers the new ETag', async () => {
      const id = await newTask();
      const res = await patch(id, { status: 'in_progress' }, await etagOf(id));
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe('in_progress');
      expect(res.headers.etag).toBe(await etagOf(id));
    });

    it('refuses a stale write with 412 and a string detail, changing nothing (no history, no notification)', async () => {
      const id = await newTask();
      const stale = await etagOf(id);
      expect((await patch(id, { title: 'Someone else was first' })).statusCode).toBe(200);
      const before = await snapshotTasks(t.db);
      const notifications = await t.db.selectFrom('notifications').selectAll().execute();
      const res = await patch(id, { title: 'Mine', status: 'completed', assigned_to: otherDev.user.id }, stale);
      expect(res.statusCode).toBe(412);
      expect(res.json()).toEqual({ detail: expect.stringContaining('changed since you read it') });
      expect(await snapshotTasks(t.db)).toEqual(before);
      expect(await t.db.selectFrom('notifications').selectAll().execute()).toEqual(notifications);
    });

    it('takes * as any existing task, and a list with the current ETag among others', async () => {
      const id = await newTask();
      expect((await patch(id, { priority: 'low' }, '*')).statusCode).toBe(200);
      expect((await patch(id, { priority: 'high' }, `"nope", ${await etagOf(id)}`)).statusCode).toBe(200);
      expect((await patch(999_999, { priority: 'high' }, '*')).statusCode).toBe(404);
    });

    it('never matches a weak tag (strong comparison)', async () => {
      const id = await newTask();
      const res = await patch(id, { priority: 'low' }, `W/${await etagOf(id)}`);
      expect(res.statusCode).toBe(412);
    });

    it.each(['abc', '"unterminated', '"a" "b"', ',', '**', 'W/abc'])('answers 400 to the malformed If-Match %j, changing nothing', async (header) => {
      const id = await newTask();
      const before = await snapshotTasks(t.db);
      const res = await patch(id, { priority: 'low' }, header);
      expect(res.statusCode).toBe(400);
      expect(typeof res.json().detail).toBe('string');
      expect(await snapshotTasks(t.db)).toEqual(before);
    });

    it('refuses an If-Match over 1024 characters with a 4xx, changing nothing', async () => {
      const id = await newTask();
      const before = await snapshotTasks(t.db);
      const res = await patch(id, { priority: 'low' }, `"${'a'.repeat(2000)}"`);
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
      expect(await snapshotTasks(t.db)).toEqual(before);
    });

    it('answers 404 and 403 as without If-Match, before any 412', async () => {
      const id = await newTask();
      const stale = '"stale"';
      expect((await patch(id, { priority: 'low' }, stale, otherDev)).statusCode).toBe(404);
      expect((await patch(id, { priority: 'low' }, stale, auditor)).statusCode).toBe(403);
      expect((await patch(id, { priority: 'urgent' }, stale)).statusCode).toBe(422);
    });

    it('keeps the other request headers intact (the audit row still has the user agent)', async () => {
      const id = await newTask();
      const res = await t.app.inject({
        method: 'PATCH',
        url: `/api/tasks/${id}`,
        headers: { ...manager.headers, 'if-match': '*', 'user-agent': 'etag-test/1.0' },
        payload: { priority: 'low' },
      });
      expect(res.statusCode).toBe(200);
      await t.app.audit.flush();
      const row = await t.db.selectFrom('api_audit_logs').select('user_agent').where('endpoint', '=', `/api/tasks/${id}`).executeTakeFirst();
      expect(row?.user_agent).toBe('etag-test/1.0');
    });

    it('behaves as before without If-Match', async () => {
      const id = await newTask();
      const res = await patch(id, { priority: 'critical' });
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe(await etagOf(id));
    });

    it('lets exactly one of several concurrent writers holding the same ETag win', async () => {
      const id = await newTask();
      const tag = await etagOf(id);
      const titles = ['w1', 'w2', 'w3', 'w4', 'w5'];
      const results = await Promise.all(titles.map((title) => patch(id, { title }, tag)));
      const codes = results.map((r) => r.statusCode).sort();
      expect(codes).toEqual([200, 412, 412, 412, 412]);
      const winner = results.find((r) => r.statusCode === 200)?.json().title;
      expect((await read(id)).json().title).toBe(winner);
      const history = await t.db.selectFrom('task_history').select('action').where('task_id', '=', id).execute();
      expect(history).toHaveLength(1);
    });
  });

  describe('DELETE with If-Match', () => {
    it('refuses a stale delete with 412, keeping the task', async () => {
      const id = await newTask();
      const stale = await etagOf(id);
      await patch(id, { priority: 'low' });
      const res = await remove(id, stale);
      expect(res.statusCode).toBe(412);
      expect(typeof res.json().detail).toBe('string');
      expect((await read(id)).statusCode).toBe(200);
    });

    it('deletes with the current ETag; a malformed one is a 400', async () => {
      const id = await newTask();
      expect((await remove(id, 'garbage')).statusCode).toBe(400);
      expect((await remove(id, await etagOf(id))).statusCode).toBe(204);
      expect((await read(id)).statusCode).toBe(404);
    });
  });

  it('exposes ETag to browsers through CORS', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health', headers: { origin: 'http://localhost:3000' } });
    expect(String(res.headers['access-control-expose-headers'])).toContain('ETag');
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/tasks/1',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, if-match' },
    });
    expect(preflight.statusCode).toBe(204);
    expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toContain('if-match');
  });

  it('documents If-Match, ETag and 412 in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const patchOp = doc.paths['/api/tasks/{id}'].patch;
    expect(patchOp.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'if-match' })]));
    expect(Object.keys(patchOp.responses)).toEqual(expect.arrayContaining(['200', '400', '412']));
    expect(patchOp.responses['200'].headers.ETag).toBeDefined();
    expect(doc.paths['/api/tasks/{id}'].get.responses['200'].headers.ETag).toBeDefined();
  });
});
