// CSV exports over HTTP (§12): /api/tasks/export.csv with the list's filters and visibility, and
// /api/audit-logs/export.csv for managers and auditors — headers, quoting, formula neutralisation,
// and invalid filters refused before anything streams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/lib/clock.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { csvObjects, parseCsv } from '../helpers/csv.js';
import { createTag, createTask, signInCast, type Session } from '../helpers/tasks.js';

describe('CSV exports', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;
  let otherDev: Session;
  let auditor: Session;
  let tricky: number;
  const clock = fixedClock('2026-11-25T10:00:00Z');

  beforeAll(async () => {
    t = await buildTestApp({}, { clock });
    ({ manager, dev, otherDev, auditor } = await signInCast(t.app));
    const tags = [await createTag(t.db, 'beta'), await createTag(t.db, 'alpha')];
    tricky = await createTask(t.db, {
      assignedTo: dev.user.id,
      createdBy: manager.user.id,
      title: '=HYPERLINK("http://evil.example","click")',
      description: 'line one, with a comma\r\nline "two"\nline three',
      status: 'in_progress',
      priority: 'high',
      estimatedHours: 2.5,
      actualHours: 1.25,
      tags,
    });
    await createTask(t.db, { assignedTo: dev.user.id, title: '+cmd', description: '-minus', status: 'pending' });
    await createTask(t.db, { assignedTo: dev.user.id, title: '@SUM(1)', description: '\ttab', status: 'completed' });
    await createTask(t.db, { assignedTo: otherDev.user.id, title: 'Not yours', status: 'pending' });
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (url: string, who?: Session) => t.app.inject({ method: 'GET', url, headers: who?.headers ?? {} });

  describe('tasks', () => {
    it('sends every visible task as an RFC 4180 attachment with a header row, quoted and neutralised', async () => {
      const res = await get('/api/tasks/export.csv', manager);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename="tasks-2026-11-25.csv"');
      expect(res.body.endsWith('\r\n')).toBe(true);
      const [header] = parseCsv(res.body);
      expect(header).toEqual([
        'id', 'title', 'description', 'status', 'priority', 'estimated_hours', 'actual_hours', 'deadline', 'priority_escalated',
        'assigned_to', 'assigned_to_user', 'created_by', 'created_by_user', 'parent_task', 'tags', 'created_at', 'updated_at',
      ]);
      const rows = csvObjects(res.body);
      expect(rows.map((r) => r.id)).toEqual(rows.map((r) => r.id).sort((a, b) => Number(a) - Number(b)));
      expect(rows).toHaveLength(4);
      expect(rows[0]).toEqual({
        id: String(tricky),
        title: `'=HYPERLINK("http://evil.example","click")`,
        description: 'line one, with a comma\r\nline "two"\nline three',
        status: 'in_progress',
        priority: 'high',
        estimated_hours: '2.5',
        actual_hours: '1.25',
        deadline: '2026-12-31T17:00:00.000Z',
        priority_escalated: 'false',
        assigned_to: String(dev.user.id),
        assigned_to_user: dev.user.username,
        created_by: String(manager.user.id),
        created_by_user: manager.user.username,
        parent_task: '',
        tags: 'alpha; beta',
        created_at: expect.stringMatching(/Z$/),
        updated_at: expect.stringMatching(/Z$/),
      });
      expect(rows.slice(1, 3).map((r) => [r.title, r.description])).toEqual([
        ["'+cmd", "'-minus"],
        ["'@SUM(1)", "'\ttab"],
      ]);
    });

    it('answers with and without a trailing slash, never as a task id', async () => {
      const res = await get('/api/tasks/export.csv/', manager);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    });

    it('shows a developer only their own tasks, and an auditor all', async () => {
      const mine = csvObjects((await get('/api/tasks/export.csv', dev)).body);
      expect(mine).toHaveLength(3);
      expect(mine.every((r) => r.assigned_to === String(dev.user.id))).toBe(true);
      expect(csvObjects((await get('/api/tasks/export.csv', otherDev)).body).map((r) => r.title)).toEqual(['Not yours']);
      expect(csvObjects((await get('/api/tasks/export.csv', auditor)).body)).toHaveLength(4);
    });

    it('applies the list filters', async () => {
      const rows = (query: string) => get(`/api/tasks/export.csv?${query}`, manager).then((r) => csvObjects(r.body));
      expect((await rows('status=completed')).map((r) => r.title)).toEqual(["'@SUM(1)"]);
      expect((await rows(`assigned_to=${otherDev.user.id}`)).map((r) => r.title)).toEqual(['Not yours']);
      expect((await rows('search=comma')).map((r) => r.id)).toEqual([String(tricky)]);
      expect(await rows('priority=critical')).toEqual([]);
      const empty = await get('/api/tasks/export.csv?priority=critical', manager);
      expect(parseCsv(empty.body)).toHaveLength(1);
    });

    it.each([
      ['status=nope', 422],
      ['deadline_before=yesterday', 422],
      ['assigned_to=abc', 422],
      ['parent_task=-1', 422],
      ['search=a%00b', 422],
    ])('refuses the invalid filter %s with a JSON string detail before streaming', async (query, status) => {
      const res = await get(`/api/tasks/export.csv?${query}`, manager);
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(typeof res.json().detail).toBe('string');
    });

    it('asks for authentication', async () => {
      const res = await get('/api/tasks/export.csv');
      expect(res.statusCode).toBe(401);
      expect(typeof res.json().detail).toBe('string');
    });
  });

  describe('audit log', () => {
    it('lets managers and auditors export, filtered, oldest first; bodies as redacted JSON text', async () => {
      await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: '=evil', password: 'secret-password-1' } });
      await t.app.audit.flush();
      for (const who of [manager, auditor]) {
        const res = await get('/api/audit-logs/export.csv?method=post&endpoint=/api/auth/login', who);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
        expect(res.headers['content-disposition']).toBe('attachment; filename="audit-log-2026-11-25.csv"');
        const rows = csvObjects(res.body);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({ method: 'POST', endpoint: '/api/auth/login', status_code: '400', user_id: '', timestamp: '2026-11-25T10:00:00.000Z' });
        expect(JSON.parse(rows[0]?.request_body ?? '')).toEqual({ username: '=evil', password: '[REDACTED]' });
        expect(res.body).not.toContain('secret-password-1');
      }
      const all = csvObjects((await get('/api/audit-logs/export.csv', manager)).body);
      expect(all.map((r) => Number(r.id))).toEqual(all.map((r) => Number(r.id)).sort((a, b) => a - b));
    });

    it('refuses developers (403) and anonymous callers (401)', async () => {
      expect((await get('/api/audit-logs/export.csv', dev)).statusCode).toBe(403);
      expect((await get('/api/audit-logs/export.csv/')).statusCode).toBe(401);
    });

    it.each(['since=never', 'status_code=99', 'method=FETCH', 'user_id=0'])('refuses the invalid filter %s with 422', async (query) => {
      const res = await get(`/api/audit-logs/export.csv?${query}`, auditor);
      expect(res.statusCode).toBe(422);
      expect(typeof res.json().detail).toBe('string');
    });
  });

  it('documents both exports as text/csv in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    for (const path of ['/api/tasks/export.csv', '/api/audit-logs/export.csv']) {
      expect(Object.keys(doc.paths[path].get.responses['200'].content)).toEqual(['text/csv']);
    }
  });
});
