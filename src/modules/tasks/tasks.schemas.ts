// Task request and response schemas. Bodies are validated without coercion: strings are strings,
// booleans are booleans; hours accept a JSON number or a numeric string ("8.50") and datetimes any
// ISO 8601 text — both are then parsed precisely in task-input.ts (422 on failure).
import { Type, type Static } from '@sinclair/typebox';
import type { TaskPriority, TaskStatus } from '../../db/schema.js';
import { DateTimeSchema, IdInputSchema, IdSchema, idParamsWithExample } from '../../schemas/common.js';

export const TASK_STATUSES = ['pending', 'in_progress', 'blocked', 'completed'] as const satisfies readonly TaskStatus[];
export const TASK_PRIORITIES = ['low', 'medium', 'high', 'critical'] as const satisfies readonly TaskPriority[];

/** A string enum as plain JSON Schema `enum` (clear "must be one of" messages, clean OpenAPI). */
export const StringEnum = <T extends string>(values: readonly T[], options: { description?: string; default?: NoInfer<T> } = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });

export const TaskStatusSchema = StringEnum(TASK_STATUSES);
export const TaskPrioritySchema = StringEnum(TASK_PRIORITIES);

export const TITLE_MAX = 255;
export const DESCRIPTION_MAX = 10_000;
export const MAX_TAGS_PER_TASK = 50;

const HoursInputSchema = (description: string) =>
  Type.Union([Type.Number(), Type.String({ pattern: '^\\s*[-+]?\\d{1,12}(\\.\\d{1,12})?\\s*$', maxLength: 40 })], {
    description,
  });

const DateTimeInputSchema = (description: string) =>
  Type.String({ minLength: 1, maxLength: 64, description: `${description} ISO 8601 with any offset; a naive value is read as UTC.` });

const TaskFields = {
  title: Type.String({ minLength: 1, maxLength: TITLE_MAX, description: '1–255 characters, not blank' }),
  description: Type.Union([Type.String({ maxLength: DESCRIPTION_MAX }), Type.Null()], {
    description: `Up to ${DESCRIPTION_MAX} characters; null or "" clears it`,
  }),
  status: TaskStatusSchema,
  priority: TaskPrioritySchema,
  estimated_hours: HoursInputSchema('0 < hours <= 9999.99, at most 2 decimals; a JSON number or a numeric string such as "8.50"'),
  actual_hours: Type.Union([HoursInputSchema('0 <= hours <= 9999.99, at most 2 decimals'), Type.Null()], {
    description: '0 <= hours <= 9999.99, at most 2 decimals (number or numeric string); null clears it',
  }),
  deadline: DateTimeInputSchema('Deadline.'),
  assigned_to: IdInputSchema(
    'User id; defaults to the caller. Developers may only assign to themselves. Unknown → 404 "Assigned user not found".',
  ),
  parent_task: Type.Union([IdInputSchema(), Type.Null()], {
    description:
      'Parent task id or null. An unknown or invisible parent answers 404 "Parent task not found"; ' +
      'a parent that would make the task its own ancestor answers 422.',
  }),
  tags: Type.Array(IdInputSchema(), {
    maxItems: MAX_TAGS_PER_TASK,
    description: 'Tag ids (at most 50, duplicates ignored). Unknown ids → 404 "Tag not found: <ids>".',
  }),
  priority_escalated: Type.Boolean({ description: 'Only a manager may set it; ignored for other roles' }),
};

export const TaskCreateSchema = Type.Object(
  {
    title: TaskFields.title,
    description: Type.Optional(TaskFields.description),
    status: Type.Optional(StringEnum(TASK_STATUSES, { default: 'pending' })),
    priority: Type.Optional(StringEnum(TASK_PRIORITIES, { default: 'medium' })),
    estimated_hours: TaskFields.estimated_hours,
    actual_hours: Type.Optional(TaskFields.actual_hours),
    deadline: TaskFields.deadline,
    assigned_to: Type.Optional(TaskFields.assigned_to),
    parent_task: Type.Optional(TaskFields.parent_task),
    tags: Type.Optional(TaskFields.tags),
    priority_escalated: Type.Optional(TaskFields.priority_escalated),
  },
  {
    description: 'A new task. Unknown fields are ignored.',
    // Ids from `ctms seed-demo`: user 2 is the demo developer, tag 4 is "docs".
    examples: [
      {
        title: 'Write the release notes',
        description: 'Summarise the changes of this sprint for the customers.',
        priority: 'high',
        estimated_hours: 2.5,
        deadline: '2030-06-28T16:00:00Z',
        assigned_to: 2,
        tags: [4],
      },
    ],
  },
);
export type TaskCreate = Static<typeof TaskCreateSchema>;

export const TaskUpdateSchema = Type.Object(
  {
    title: Type.Optional(TaskFields.title),
    description: Type.Optional(TaskFields.description),
    status: Type.Optional(TaskFields.status),
    priority: Type.Optional(TaskFields.priority),
    estimated_hours: Type.Optional(TaskFields.estimated_hours),
    actual_hours: Type.Optional(TaskFields.actual_hours),
    deadline: Type.Optional(TaskFields.deadline),
    assigned_to: Type.Optional(TaskFields.assigned_to),
    parent_task: Type.Optional(TaskFields.parent_task),
    tags: Type.Optional(TaskFields.tags),
    priority_escalated: Type.Optional(TaskFields.priority_escalated),
  },
  {
    description:
      'Partial update: only the fields sent change. A client may send a whole Task back; read-only fields ' +
      '(id, is_parent, assigned_to_user, created_by, created_at, …) and unknown fields are ignored.',
    examples: [{ status: 'completed', actual_hours: 5.5 }],
  },
);

/** Task 1 after `ctms seed-demo` ("Set up the CI pipeline", the demo developer's) is the docs' example. */
export const TaskIdParamsSchema = idParamsWithExample('Task id', 1);
export type TaskUpdate = Static<typeof TaskUpdateSchema>;

export const TaskPublicSchema = Type.Object(
  {
    id: Type.Integer(),
    title: Type.String(),
    description: Type.String(),
    status: TaskStatusSchema,
    priority: TaskPrioritySchema,
    estimated_hours: Type.Number({ description: 'At most 2 decimals' }),
    actual_hours: Type.Union([Type.Number(), Type.Null()]),
    deadline: DateTimeSchema,
    priority_escalated: Type.Boolean(),
    assigned_to: Type.Integer(),
    assigned_to_user: Type.String({ description: 'Username of the assignee' }),
    created_by: Type.Integer(),
    created_by_user: Type.String({ description: 'Username of the creator' }),
    parent_task: Type.Union([Type.Integer(), Type.Null()]),
    is_parent: Type.Boolean({ description: 'True when the task has subtasks' }),
    tags: Type.Array(Type.Integer(), { description: 'Tag ids, ascending' }),
    created_at: DateTimeSchema,
    updated_at: DateTimeSchema,
  },
  { description: 'A task' },
);
export type TaskPublic = Static<typeof TaskPublicSchema>;

export const TASK_ORDERINGS = [
  'created_at',
  '-created_at',
  'updated_at',
  '-updated_at',
  'deadline',
  '-deadline',
  'priority',
  '-priority',
  'status',
  '-status',
  'title',
  '-title',
  'estimated_hours',
  '-estimated_hours',
  'id',
  '-id',
] as const;
export type TaskOrdering = (typeof TASK_ORDERINGS)[number];

export const MAX_PAGE_SIZE = 500;

export const TaskListQuerySchema = Type.Object({
  status: Type.Optional(TaskStatusSchema),
  priority: Type.Optional(TaskPrioritySchema),
  assigned_to: Type.Optional(IdSchema),
  created_by: Type.Optional(IdSchema),
  tag: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Only tasks carrying this tag id' })),
  parent_task: Type.Optional(
    Type.String({
      pattern: '^(null|[1-9][0-9]{0,9})$',
      maxLength: 10,
      description: 'Only subtasks of this task id; the literal `null` lists top-level tasks only',
    }),
  ),
  search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of title or description' })),
  deadline_before: Type.Optional(Type.String({ maxLength: 64, description: 'Deadline strictly before this ISO 8601 instant' })),
  deadline_after: Type.Optional(Type.String({ maxLength: 64, description: 'Deadline strictly after this ISO 8601 instant' })),
  overdue: Type.Optional(
    Type.Boolean({ description: 'true: deadline passed and not completed; false: the other tasks' }),
  ),
  ordering: Type.Optional(
    StringEnum(TASK_ORDERINGS, {
      description: 'Sort key, `-` for descending. `priority` sorts by severity (low < medium < high < critical). Default `-created_at`.',
    }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, description: 'Page size, 1–500; without it the answer holds every matching task, read as of one moment (each exactly once, X-Total-Count equal to their number)' }),
  ),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0 })),
});
export type TaskListQuery = Static<typeof TaskListQuerySchema>;

export const BulkUpdateSchema = Type.Object(
  {
    task_ids: Type.Array(IdInputSchema(), { minItems: 1, maxItems: 500, description: '1–500 task ids; duplicates are ignored' }),
    status: TaskStatusSchema,
  },
  { description: 'Set one status on many tasks, all or nothing', examples: [{ task_ids: [5, 6], status: 'in_progress' }] },
);
export type BulkUpdate = Static<typeof BulkUpdateSchema>;

export const BulkUpdateResultSchema = Type.Object({
  updated_count: Type.Integer(),
  detail: Type.String(),
});

export const TaskHistoryEntrySchema = Type.Object({
  id: Type.Integer(),
  task_id: Type.Integer(),
  action: Type.String({
    description:
      '"created", "status_changed", "updated", "bulk_update", or "priority_escalated" (the scheduled escalation ' +
      'raised the priority one step as the deadline came within 24 hours; user_id is null), or "comment_added", ' +
      '"comment_edited", "comment_deleted" (comment activity; changes ["comment"])',
  }),
  from_status: Type.Union([TaskStatusSchema, Type.Null()]),
  to_status: Type.Union([TaskStatusSchema, Type.Null()]),
  changes: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'Names of the changed fields (null for "created")',
  }),
  user_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The acting user (null once that user is deleted)' }),
  timestamp: DateTimeSchema,
});
export type TaskHistoryEntry = Static<typeof TaskHistoryEntrySchema>;
