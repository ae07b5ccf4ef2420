// Requests racing on the same rows: every answer is a clean 2xx/404 (never a 500) and the database
// stays consistent. SQLite runs one write transaction at a time, so these bite on PostgreSQL
// (TEST_DATABASE_URL), where transactions overlap and the service's row locks do the work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTag, createTask, readTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;
const ROUNDS = 12;

describe('concurrent task changes', () => {
  let t: TestApp;
  let manager: Session;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
  });
  afterAll(async () => {
    await t.close();
  });

  const request = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: manager.headers, ...(payload ? { payload } : {}) });
  const newTask = { title: 'Racing', estimated_hours: 1, deadline: '2026-12-01T00:00:00Z' };

  it('answers a PATCH racing a DELETE of the same task with 200 or 404, never a 500', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await createTask(t.db, { assignedTo: manager.user.id });
      const [patched, deleted] = await Promise.all([
        request('PATCH', `/api/tasks/${id}`, { title: 'renamed', status: 'in_progress' }),
        request('DELETE', `/api/tasks/${id}`),
      ]);
      expect([200, 404], patched.body).toContain(patched.statusCode);
      expect(deleted.statusCode, deleted.body).toBe(204);
      expect(await readTask(t.db, id)).toBeUndefined();
    }
  });

  it('answers a bulk update racing the deletion of one of its tasks with 200 or 404, all or nothing', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const a = await createTask(t.db, { assignedTo: manager.user.id, status: 'pending' });
      const b = await createTask(t.db, { assignedTo: manager.user.id, status: 'pending' });
      const [bulk, deleted] = await Promise.all([
        request('POST', '/api/tasks/bulk-update', { task_ids: [a, b], status: 'blocked' }),
        request('DELETE', `/api/tasks/${b}`),
      ]);
      expect([200, 404], bulk.body).toContain(bulk.statusCode);
      expect(deleted.statusCode).toBe(204);
      expect((await readTask(t.db, a))?.status).toBe(bulk.statusCode === 200 ? 'blocked' : 'pending');
    }
  });

  it('answers a task creation racing the deletion of its tag or parent with 201 or 404', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const tag = await createTag(t.db);
      const parent = await createTask(t.db, { assignedTo: manager.user.id });
      const [withTag, tagDeleted, withParent, parentDeleted] = await Promise.all([
        request('POST', '/api/tasks', { ...newTask, tags: [tag] }),
        request('DELETE', `/api/tags/${tag}`),
        request('POST', '/api/tasks', { ...newTask, parent_task: parent }),
        request('DELETE', `/api/tasks/${parent}`),
      ]);
      expect([201, 404], withTag.body).toContain(withTag.statusCode);
      expect([201, 404], withParent.body).toContain(withParent.statusCode);
      expect(tagDeleted.statusCode).toBe(204);
      expect(parentDeleted.statusCode).toBe(204);
      if (withParent.statusCode === 201) expect((await readTask(t.db, withParent.json().id))?.parent_task_id).toBeNull();
    }
  });

  it('applies two simultaneous tag replacements one after the other', async () => {
    const [t1, t2] = [await createTag(t.db), await createTag(t.db)];
    for (let round = 0; round < ROUNDS; round++) {
      const id = await createTask(t.db, { assignedTo: manager.user.id });
      const results = await Promise.all([
        request('PATCH', `/api/tasks/${id}`, { tags: [t1, t2] }),
        request('PATCH', `/api/tasks/${id}`, { tags: [t1] }),
      ]);
      expect(results.map((r) => r.statusCode)).toEqual([200, 200]);
      const final = (await request('PATCH', `/api/tasks/${id}`, {})).json().tags;
      expect([[t1, t2].sort((x, y) => x - y), [t1]]).toContainEqual(final);
    }
  });

  it('keeps the status history a chain when a bulk update races a PATCH', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const id = await createTask(t.db, { assignedTo: manager.user.id, status: 'pending' });
      await Promise.all([
        request('POST', '/api/tasks/bulk-update', { task_ids: [id], status: 'blocked' }),
        request('PATCH', `/api/tasks/${id}`, { status: 'completed' }),
      ]);
      const history = (await t.app.inject({ method: 'GET', url: `/api/tasks/${id}/history`, headers: manager.headers })).json() as {
        from_status: string | null;
        to_status: string | null;
      }[];
      const statusRows = history.filter((h) => h.to_status !== null);
      for (let i = 1; i < statusRows.length; i++) expect(statusRows[i]?.from_status).toBe(statusRows[i - 1]?.to_status);
      expect(statusRows.at(-1)?.to_status).toBe((await readTask(t.db, id))?.status);
    }
  });
});
