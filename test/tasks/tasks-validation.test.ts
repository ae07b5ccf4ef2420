// Bad input never hurts: every malformed body or id is a 4xx with a string detail, and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTask, signIn, snapshotTasks } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const valid = { title: 'Valid', estimated_hours: 2, deadline: '2026-12-01T00:00:00Z' };

const badFields: [string, Record<string, unknown>][] = [
  ['a numeric title', { title: 123 }],
  ['an empty title', { title: '' }],
  ['a blank title', { title: '   ' }],
  ['a 256-character title', { title: 'x'.repeat(256) }],
  ['a null title', { title: null }],
  ['a numeric description', { description: 5 }],
  ['an unknown status', { status: 'done' }],
  ['a null status', { status: null }],
  ['a numeric priority', { priority: 1 }],
  ['estimated hours with 3 decimals', { estimated_hours: 8.555 }],
  ['estimated hours as a 3-decimal string', { estimated_hours: '8.555' }],
  ['zero estimated hours', { estimated_hours: 0 }],
  ['negative estimated hours', { estimated_hours: -1 }],
  ['estimated hours above 9999.99', { estimated_hours: 10000 }],
  ['huge estimated hours', { estimated_hours: 1e308 }],
  ['estimated hours in exponent text', { estimated_hours: '1e3' }],
  ['estimated hours as words', { estimated_hours: 'eight' }],
  ['boolean estimated hours', { estimated_hours: true }],
  ['null estimated hours', { estimated_hours: null }],
  ['estimated hours as a list', { estimated_hours: [8] }],
  ['negative actual hours', { actual_hours: -0.5 }],
  ['actual hours above 9999.99', { actual_hours: '10000.00' }],
  ['a deadline in words', { deadline: 'tomorrow' }],
  ['a numeric deadline', { deadline: 1764547200 }],
  ['an impossible date', { deadline: '2026-02-30T00:00:00Z' }],
  ['a deadline before 1970', { deadline: '1969-12-31T23:00:00Z' }],
  ['a deadline after 9999', { deadline: '10000-01-01T00:00:00Z' }],
  ['an assignee id as words', { assigned_to: 'one' }],
  ['an assignee id as a signed string', { assigned_to: '+1' }],
  ['an assignee id string beyond the id range', { assigned_to: '9999999999' }],
  ['a zero assignee id', { assigned_to: 0 }],
  ['a fractional assignee id', { assigned_to: 1.5 }],
  ['a huge assignee id', { assigned_to: 1e20 }],
  ['a parent id as text', { parent_task: 'x' }],
  ['a negative parent id', { parent_task: -3 }],
  ['tags as a string', { tags: '1,2' }],
  ['a zero tag id', { tags: [0] }],
  ['a tag id in words', { tags: [1, 'two'] }],
  ['a fractional tag id string', { tags: ['1.5'] }],
  ['51 tags', { tags: Array.from({ length: 51 }, (_, i) => i + 1) }],
  ['priority_escalated as text', { priority_escalated: 'true' }],
];

describe('garbage input on tasks', () => {
  let t: TestApp;
  let manager: Session;
  let taskId: number;

  beforeAll(async () => {
    t = await buildTestApp({}, { clock: fixedClock('2026-11-25T10:00:00Z') });
    manager = await signIn(t.app, { role: 'manager' });
    taskId = await createTask(t.db, { assignedTo: manager.user.id, title: 'Untouched' });
  });
  afterAll(async () => {
    await t.close();
  });

  const send = (method: 'POST' | 'PATCH', url: string, payload: string, contentType = 'application/json') =>
    t.app.inject({ method, url, headers: { ...manager.headers, 'content-type': contentType }, payload });

  async function expectRejected(method: 'POST' | 'PATCH', url: string, payload: string, status = 422, contentType?: string) {
    const before = await snapshotTasks(t.db);
    const res = await send(method, url, payload, contentType);
    expect(res.statusCode).toBe(status);
    expect(typeof res.json().detail).toBe('string');
    expect(await snapshotTasks(t.db)).toEqual(before);
    return res;
  }

  it.each(badFields)('rejects a new task with %s (422) and writes nothing', async (_label, fields) => {
    await expectRejected('POST', '/api/tasks', JSON.stringify({ ...valid, ...fields }));
  });

  it.each(badFields)('rejects an update with %s (422) and changes nothing', async (_label, fields) => {
    await expectRejected('PATCH', `/api/tasks/${taskId}`, JSON.stringify(fields));
  });

  it.each(['title', 'estimated_hours', 'deadline'])('rejects a new task without %s', async (field) => {
    const body: Record<string, unknown> = { ...valid };
    delete body[field];
    const res = await expectRejected('POST', '/api/tasks', JSON.stringify(body));
    expect(res.json().errors[0].loc).toEqual(['body', field]);
  });

  it.each([
    ['a list', '[1,2]'],
    ['a string', '"task"'],
    ['a number', '42'],
    ['null', 'null'],
    ['malformed JSON', '{"title": '],
  ])('rejects %s as the body (422)', async (_label, payload) => {
    await expectRejected('POST', '/api/tasks', payload);
    await expectRejected('PATCH', `/api/tasks/${taskId}`, payload);
  });

  it('rejects an empty body on create (422)', async () => {
    await expectRejected('POST', '/api/tasks', '');
  });

  it('rejects a body that is not JSON with a 4xx', async () => {
    await expectRejected('POST', '/api/tasks', 'title=x', 415, 'application/x-www-form-urlencoded');
  });

  it('names the field of a hours error', async () => {
    const res = await expectRejected('POST', '/api/tasks', JSON.stringify({ ...valid, estimated_hours: 8.555 }));
    expect(res.json().errors[0].loc).toEqual(['body', 'estimated_hours']);
  });

  it('accepts the boundaries: a 255-character title, 0.01 and 9999.99 hours, a 1970 deadline', async () => {
    const res = await send(
      'POST',
      '/api/tasks',
      JSON.stringify({ title: 'x'.repeat(255), estimated_hours: '9999.99', actual_hours: 0.01, deadline: '1970-01-01T00:00:00Z' }),
    );
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ estimated_hours: 9999.99, actual_hours: 0.01, deadline: '1970-01-01T00:00:00.000Z' });
  });

  it('ignores unknown fields', async () => {
    const res = await send(
      'POST',
      '/api/tasks',
      JSON.stringify({ ...valid, colour: 'red', id: 424242, created_at: '1999-01-01T00:00:00Z', created_by: 99, is_parent: true }),
    );
    expect(res.statusCode).toBe(201);
    const task = res.json();
    expect(task.id).not.toBe(424242);
    expect(task.created_at).not.toBe('1999-01-01T00:00:00.000Z');
    expect(task.created_by).toBe(manager.user.id);
    expect(task.is_parent).toBe(false);
    expect(task).not.toHaveProperty('colour');
  });

  it('treats an empty update as no change', async () => {
    const res = await send('PATCH', `/api/tasks/${taskId}`, '{}');
    expect(res.statusCode).toBe(200);
    expect(res.json().title).toBe('Untouched');
  });

  it.each(['abc', '0', '-5', '2.5', '%20'])('rejects the path id %j with 422 on update', async (id) => {
    await expectRejected('PATCH', `/api/tasks/${id}`, JSON.stringify({ title: 'x' }));
  });
});
