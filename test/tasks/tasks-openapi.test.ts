import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('OpenAPI document for tasks, tags and analytics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('documents the X-Total-Count header of the task list', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.paths['/api/tasks'].get.responses['200'].headers['X-Total-Count'].schema).toEqual({ type: 'integer' });
  });

  it('documents every route with its tag, summary and error responses', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const expected: [string, string, string][] = [
      ['/api/tasks', 'get', 'tasks'],
      ['/api/tasks', 'post', 'tasks'],
      ['/api/tasks/bulk-update', 'post', 'tasks'],
      ['/api/tasks/{id}', 'get', 'tasks'],
      ['/api/tasks/{id}', 'patch', 'tasks'],
      ['/api/tasks/{id}', 'delete', 'tasks'],
      ['/api/tasks/{id}/history', 'get', 'tasks'],
      ['/api/tasks/analytics', 'get', 'analytics'],
      ['/api/analytics', 'get', 'analytics'],
      ['/api/tags', 'get', 'tags'],
      ['/api/tags', 'post', 'tags'],
      ['/api/tags/{id}', 'delete', 'tags'],
    ];
    for (const [path, method, tag] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.tags).toEqual([tag]);
      expect(op.summary).toEqual(expect.any(String));
      expect(Object.keys(op.responses)).toContain('401');
    }
    const task = doc.paths['/api/tasks/{id}'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(task.properties).sort()).toEqual(
      [
        'id', 'title', 'description', 'status', 'priority', 'estimated_hours', 'actual_hours', 'deadline',
        'priority_escalated', 'assigned_to', 'assigned_to_user', 'created_by', 'created_by_user', 'parent_task',
        'is_parent', 'tags', 'created_at', 'updated_at',
      ].sort(),
    );
  });
});
