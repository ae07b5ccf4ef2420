// Comment request and response schemas (§12).
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, MAX_ID } from '../../schemas/common.js';

export const COMMENT_BODY_MAX = 5000;
export const COMMENT_PAGE_MAX = 500;
export const COMMENT_PAGE_DEFAULT = 100;

const BodyFieldSchema = Type.String({
  minLength: 1,
  maxLength: COMMENT_BODY_MAX,
  description:
    `1–${COMMENT_BODY_MAX} characters, not blank; stored without leading and trailing whitespace. ` +
    '`@username` mentions notify those users when they can see the task.',
});

export const CommentWriteSchema = Type.Object(
  { body: BodyFieldSchema },
  { description: 'A comment. Unknown fields are ignored.', examples: [{ body: 'The runners are ready, @demo_dev: over to you.' }] },
);
export type CommentWrite = Static<typeof CommentWriteSchema>;

export const CommentPublicSchema = Type.Object(
  {
    id: Type.Integer(),
    task_id: Type.Integer(),
    user_id: Type.Integer({ description: 'The author' }),
    username: Type.String({ description: 'Username of the author' }),
    body: Type.String(),
    created_at: DateTimeSchema,
    updated_at: DateTimeSchema,
  },
  { description: 'A comment on a task' },
);
export type CommentPublic = Static<typeof CommentPublicSchema>;

// The docs' examples name data `ctms seed-demo` creates: task 1 and the demo manager's comment 1 on it.
const TaskIdSchema = Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'Task id', examples: [1] });
export const TaskCommentsParamsSchema = Type.Object({ id: TaskIdSchema });
export const CommentParamsSchema = Type.Object({
  id: TaskIdSchema,
  cid: Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'Comment id (of this task)', examples: [1] }),
});

export const CommentListQuerySchema = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: COMMENT_PAGE_MAX,
      default: COMMENT_PAGE_DEFAULT,
      description: `Page size, 1–${COMMENT_PAGE_MAX} (default ${COMMENT_PAGE_DEFAULT})`,
    }),
  ),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0 })),
});
export type CommentListQuery = Static<typeof CommentListQuerySchema>;
