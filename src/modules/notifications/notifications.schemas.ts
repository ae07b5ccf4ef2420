// Notification schemas (§7) for the REST routes and the socket's messages.
import { Type, type Static } from '@sinclair/typebox';
import type { NotificationType } from '../../db/schema.js';
import { DateTimeSchema } from '../../schemas/common.js';
import { StringEnum } from '../tasks/tasks.schemas.js';

export const NOTIFICATION_TYPES = [
  'task_assigned',
  'task_unassigned',
  'status_change',
  'deadline_warning',
  'priority_escalated',
  'comment_added',
  'mentioned',
] as const satisfies readonly NotificationType[];

export const NotificationPublicSchema = Type.Object(
  {
    id: Type.Integer(),
    user_id: Type.Integer({ description: 'The recipient' }),
    task_id: Type.Union([Type.Integer(), Type.Null()], { description: 'null once the task is deleted' }),
    task: Type.Union([Type.Integer(), Type.Null()], { description: 'Same as task_id (the original clients read this name)' }),
    task_title: Type.String({ description: 'The task title when the notification was made' }),
    message: Type.String(),
    notification_type: StringEnum(NOTIFICATION_TYPES),
    read: Type.Boolean(),
    is_delivered: Type.Boolean({ description: 'true once pushed to a live socket of the recipient' }),
    created_at: DateTimeSchema,
  },
  { description: 'A notification of the caller' },
);
export type NotificationPublic = Static<typeof NotificationPublicSchema>;

export const NOTIFICATION_PAGE_MAX = 500;
export const NOTIFICATION_PAGE_DEFAULT = 50;

export const NotificationListQuerySchema = Type.Object({
  unread: Type.Optional(Type.Boolean({ description: 'true: only unread notifications' })),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: NOTIFICATION_PAGE_MAX,
      default: NOTIFICATION_PAGE_DEFAULT,
      description: `Page size, 1–${NOTIFICATION_PAGE_MAX} (default ${NOTIFICATION_PAGE_DEFAULT})`,
    }),
  ),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 0 })),
});
export type NotificationListQuery = Static<typeof NotificationListQuerySchema>;

export const UnreadCountSchema = Type.Object({ count: Type.Integer() });
export const MarkAllReadResultSchema = Type.Object({ detail: Type.String(), updated_count: Type.Integer() });
