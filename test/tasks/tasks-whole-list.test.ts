// §4: a list without `limit` holds every matching task — written out in slices when it is long —
// in the same order, with the same fields and scope as the pages of a paged list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTag, signIn } from '../helpers/tasks.js';

type Session = Awaited<ReturnType<typeof signIn>>;

const TASKS = 1203;

describe('the whole task list', () => {
  let t: TestApp;
  let manager: Session;
  let dev: Session;

  beforeAll(async () => {
    t = await buildTestApp();
    manager = await signIn(t.app, { role: 'manager' });
    dev = await signIn(t.app, { role: 'developer' });
    const tag = await createTag(t.db, 'bulk');
    const base = Date.UTC(2026, 0, 1);
    const rows = Array.from({ length: TASKS }, (_, i) => {
      const at = new Date(base + i * 60_000).toISOString();
      return {
        title: `Task ${i}`,
        description: i % 7 === 0 ? 'seven' : '',
        status: 'pending' as const,
        priority: (['low', 'medium', 'high', 'critical'] as const)[i % 4]!,
        estimated_hours: 1 + (i % 5),
        actual_hours: null,
        deadline: new Date(base + (TASKS - i) * 3_600_000).toISOString(),
        priority_escalated: false,
        assigned_to: i % 3 === 0 ? dev.user.id : manager.user.id,
        created_by: manager.user.id,
        parent_task_id: null,
        created_at: at,
        updated_at: at,
      };
    });
    for (let i = 0; i < rows.length; i += 200) await t.db.insertInto('tasks').values(rows.slice(i, i + 200)).execute();
    const tagged = await t.db.selectFrom('tasks').select('id').where('description', '=', 'seven').execute();
    await t.db.insertInto('task_tags').values(tagged.map((r) => ({ task_id: r.id, tag_id: tag }))).execute();
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  const get = (s: Session, url: string) => t.app.inject({ method: 'GET', url, headers: s.headers });

  /** The same list read page by page with `limit`. */
  const paged = async (s: Session, query: string) => {
    const all: unknown[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = (await get(s, `/api/tasks?${query}&limit=500&offset=${offset}`)).json() as unknown[];
      all.push(...page);
      if (page.length < 500) return all;
    }
  };

  it.each(['ordering=-created_at', 'ordering=priority', 'ordering=deadline', 'search=seven'])(
    'answers every task without limit, as the pages do together (%s)',
    async (query) => {
      const res = await get(manager, `/api/tasks/?${query}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const whole = res.json() as Array<{ id: number; tags: number[] }>;
      expect(res.headers['x-total-count']).toBe(String(whole.length));
      expect(whole).toEqual(await paged(manager, query));
      if (query === 'search=seven') expect(whole.every((task) => task.tags.length === 1)).toBe(true);
      else expect(whole).toHaveLength(TASKS);
    },
  );

  it('keeps the caller\'s scope: a developer gets every task of theirs and nothing else', async () => {
    const res = await get(dev, '/api/tasks');
    const tasks = res.json() as Array<{ assigned_to: number }>;
    expect(tasks).toHaveLength(Math.ceil(TASKS / 3));
    expect(tasks.every((task) => task.assigned_to === dev.user.id)).toBe(true);
    expect(res.headers['x-total-count']).toBe(String(tasks.length));
  });

  it('skips `offset` tasks and still counts them all', async () => {
    const res = await get(manager, '/api/tasks?offset=1000');
    expect(res.json()).toHaveLength(TASKS - 1000);
    expect(res.headers['x-total-count']).toBe(String(TASKS));
  });

  it('answers one page when `limit` is given', async () => {
    const res = await get(manager, '/api/tasks?limit=10&offset=5');
    expect(res.json()).toHaveLength(10);
    expect(res.headers['x-total-count']).toBe(String(TASKS));
  });
});
