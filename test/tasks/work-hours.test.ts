// WORK_HOURS_START / WORK_HOURS_END through the API: the configured window decides, and the 403
// names it. The clock is fixed, so each case is one instant on a developer's wall clock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession } from '../helpers/factories.js';
import { countRows, createTask, readTask, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

describe('configurable working hours (07:30-16:00)', () => {
  const clock = fixedClock('2026-11-25T07:45:00Z');
  let t: TestApp;
  let dev: Session;

  beforeAll(async () => {
    t = await buildTestApp({ workHoursStart: '07:30', workHoursEnd: '16:00' }, { clock });
    dev = await signIn(t.app, { role: 'developer', timezone: 'UTC' });
  });
  afterAll(async () => {
    await t.close();
  });

  /** The developer's headers with a token issued at the clock's current instant (tokens live 20 minutes). */
  const headers = async () => (await createSession(t.app, dev.user)).headers;
  const create = async () =>
    t.app.inject({
      method: 'POST',
      url: '/api/tasks',
      headers: await headers(),
      payload: { title: 'Early bird', priority: 'medium', estimated_hours: 2, deadline: '2026-12-01T17:00:00Z' },
    });
  const start = async (id: number) =>
    t.app.inject({ method: 'PATCH', url: `/api/tasks/${id}`, headers: await headers(), payload: { status: 'in_progress' } });

  it('lets a developer create a task at 07:45, before the default window would open', async () => {
    clock.set('2026-11-25T07:45:00Z');
    const res = await create();
    expect(res.statusCode).toBe(201);
    expect(await readTask(t.db, res.json<{ id: number }>().id)).toMatchObject({ title: 'Early bird', assigned_to: dev.user.id });
  });

  it('refuses at 16:30, inside the default window, naming the configured one, and writes nothing', async () => {
    clock.set('2026-11-25T16:30:00Z');
    const before = await countRows(t.db, 'tasks');
    const res = await create();
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      detail: 'Developers can only create tasks during working hours (07:30-16:00 in their timezone); it is 16:30 in UTC. Critical tasks are exempt.',
    });
    expect(await countRows(t.db, 'tasks')).toBe(before);
  });

  it('applies the window to updates too', async () => {
    const id = await createTask(t.db, { assignedTo: dev.user.id, createdBy: dev.user.id, title: 'Late change' });
    clock.set('2026-11-25T16:00:00Z');
    const late = await start(id);
    expect(late.statusCode).toBe(403);
    expect(late.json<{ detail: string }>().detail).toContain('(07:30-16:00 in their timezone); it is 16:00 in UTC');
    expect((await readTask(t.db, id))?.status).toBe('pending');
    clock.set('2026-11-25T15:59:00Z');
    const inTime = await start(id);
    expect(inTime.statusCode).toBe(200);
    expect((await readTask(t.db, id))?.status).toBe('in_progress');
  });

  it('shows the window in the OpenAPI description of task creation', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, { post?: { description?: string } }> }>();
    expect(doc.paths['/api/tasks']?.post?.description).toContain('07:30–16:00');
  });
});
