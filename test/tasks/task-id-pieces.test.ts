// The ids of a whole list read piece by piece (listTaskIdPieces): whatever the piece size, the
// pieces together are the list in the order of one query — ties on every key, timestamps that
// differ below the millisecond, scope and filters included — and orderings an index or a rank
// serves really come in pieces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_ORDERINGS, type TaskOrdering } from '../../src/modules/tasks/tasks.schemas.js';
import { listTaskIdPieces, listTaskRows, type TaskFilters } from '../../src/modules/tasks/tasks.repository.js';
import type { TaskScope } from '../../src/modules/tasks/tasks.policy.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createTask, signInCast } from '../helpers/tasks.js';

const TASKS = 61;
const NOW = '2026-06-01T00:00:00.000Z';
/** Orderings read by keyset on their column (an index serves them); title, updated_at and estimated_hours come in one piece. */
const KEYSET = new Set(['created_at', 'deadline', 'id']);
/** Orderings by a rank, read rank by rank: 4 values in use here, a piece or more each. */
const RANKED = new Set(['priority', 'status']);

/** Few distinct values per key: long runs of ties, broken by id; some instants differ by a microsecond only. */
async function seedTies(db: TestApp['db'], dev: number, manager: number): Promise<void> {
  const priorities = ['low', 'medium', 'high', 'critical'] as const;
  const statuses = ['pending', 'in_progress', 'blocked', 'completed'] as const;
  for (let i = 0; i < TASKS; i++) {
    const createdAt = i % 3 === 0 ? `2026-01-01T00:00:00.10000${i % 5}Z` : `2026-01-0${1 + (i % 4)}T00:00:00.000Z`;
    await createTask(db, {
      assignedTo: i % 2 === 0 ? dev : manager,
      createdBy: manager,
      title: ['alpha', 'Alpha', 'beta', 'BETA', 'gamma'][i % 5],
      status: statuses[i % 4],
      priority: priorities[(i * 7) % 4],
      estimatedHours: 1 + (i % 3),
      deadline: `2026-03-0${1 + (i % 3)}T12:00:00.00000${i % 2}Z`,
      createdAt,
      updatedAt: i % 4 === 0 ? createdAt : '2026-02-01T00:00:00.000Z',
    });
  }
}

describe('whole-list ids in pieces', () => {
  let t: TestApp;
  let devId: number;

  beforeAll(async () => {
    t = await buildTestApp();
    const { manager, dev } = await signInCast(t.app);
    devId = dev.user.id;
    await seedTies(t.db, dev.user.id, manager.user.id);
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  const oneQuery = async (scope: TaskScope, filters: TaskFilters, ordering: TaskOrdering) =>
    (await listTaskRows(t.db, scope, filters, ordering, { limit: 10_000, offset: 0 }, NOW)).map((row) => row.id);

  const pieces = async (scope: TaskScope, filters: TaskFilters, ordering: TaskOrdering, size: number) => {
    const out: number[][] = [];
    for await (const piece of listTaskIdPieces(t.db, scope, filters, ordering, NOW, size)) out.push(piece);
    return out;
  };

  it.each(TASK_ORDERINGS.flatMap((ordering) => [1, 7, TASKS].map((size) => [ordering, size] as const)))(
    'ordering=%s, pieces of %i: the same ids in the same order as one query',
    async (ordering, size) => {
      const expected = await oneQuery({}, {}, ordering);
      expect(expected).toHaveLength(TASKS);
      const got = await pieces({}, {}, ordering, size);
      expect(got.flat()).toEqual(expected);
      const key = ordering.replace(/^-/, '');
      if (KEYSET.has(key)) expect(got).toHaveLength(Math.ceil(TASKS / size));
      else if (RANKED.has(key)) expect(got.length).toBeGreaterThanOrEqual(Math.max(4, Math.ceil(TASKS / size)));
      else expect(got).toHaveLength(1);
      if (KEYSET.has(key) || RANKED.has(key)) expect(got.every((piece) => piece.length > 0 && piece.length <= size)).toBe(true);
    },
  );

  it.each(['-created_at', 'deadline', '-id', 'title', '-priority', 'status'] as const)('keeps the scope and the filters (ordering=%s)', async (ordering) => {
    const scope = { assignedTo: devId };
    const filters: TaskFilters = { status: 'pending' };
    const expected = await oneQuery(scope, filters, ordering);
    expect(expected.length).toBeGreaterThan(3);
    expect((await pieces(scope, filters, ordering, 2)).flat()).toEqual(expected);
  });

  it('yields nothing for an empty list', async () => {
    expect(await pieces({}, { search: 'no such task' }, '-created_at', 5)).toEqual([]);
  });
});
