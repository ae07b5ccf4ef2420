// Table types: one interface per table, the single source of column names and types for Kysely.
// Timestamps are ISO-8601 UTC strings in both dialects (see database.ts); booleans are read as
// SqlBool because SQLite returns 0/1 — map them with Boolean() in repositories.
import type { ColumnType, Generated, SqlBool } from 'kysely';

type Bool = ColumnType<SqlBool, boolean, boolean>;
/** ISO-8601 UTC string, written by the application (never a database default). */
export type Timestamp = string;

export type Role = 'manager' | 'developer' | 'auditor';
export type TaskStatus = 'pending' | 'in_progress' | 'blocked' | 'completed';
export type TaskPriority = 'low' | 'medium' | 'high' | 'critical';
export type NotificationType =
  | 'task_assigned'
  | 'task_unassigned'
  | 'status_change'
  | 'deadline_warning'
  | 'priority_escalated'
  | 'comment_added'
  | 'mentioned';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  hashed_password: string;
  role: Role;
  timezone: string;
  email_verified: Bool;
  is_active: Bool;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_login: Timestamp | null;
}

export interface UserSessionsTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 (hex) of the refresh token currently valid for this session. */
  refresh_token_hash: string;
  device_id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Timestamp;
  last_used: Timestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  /** Why it was revoked (see RevokedReason in modules/auth/sessions.repository.ts); null if not revoked. */
  revoked_reason: string | null;
  /** SHA-256 of the refresh token the last rotation replaced (it may repeat that rotation briefly). */
  previous_refresh_token_hash: string | null;
  /** When the last rotation happened. */
  refresh_rotated_at: Timestamp | null;
}

export interface EmailVerificationTokensTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 (hex) of the token sent to the user. */
  token_hash: string;
  /** The new address an e-mail change waits to confirm; null for the account's own address. */
  email: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** Single-use password reset tokens (1 hour). */
export interface PasswordResetTokensTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 (hex) of the token sent to the user. */
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** Single-use invitations of a manager (7 days), for one address; the account does not exist yet. */
export interface InvitationsTable {
  id: Generated<number>;
  email: string;
  /** SHA-256 (hex) of the token sent to the address. */
  token_hash: string;
  invited_by: number | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

/** A manager's subscription to task and comment events (§12). */
export interface WebhooksTable {
  id: Generated<number>;
  url: string;
  /** JSON text: the subscribed event names. */
  events: string;
  /** The signing key, encrypted with a key derived from SECRET_KEY (modules/webhooks/secrets.ts). */
  secret: string;
  active: Bool;
  created_by: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type WebhookDeliveryState = 'pending' | 'delivering' | 'succeeded' | 'failed';

/** The webhook delivery queue (a transactional outbox) and its log: one row per event and webhook. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: number;
  event: string;
  /** UUID sent as X-CTMS-Delivery. */
  delivery_id: string;
  /** The exact JSON request body: every attempt sends the same bytes and signature. */
  payload: string;
  state: WebhookDeliveryState;
  /** Attempts started so far; status_code, error and duration_ms describe the last one. */
  attempt: Generated<number>;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  created_at: Timestamp;
  last_attempt_at: Timestamp | null;
  next_attempt_at: Timestamp | null;
  locked_until: Timestamp | null;
  locked_by: string | null;
}

export interface TasksTable {
  id: Generated<number>;
  title: string;
  description: string;
  status: TaskStatus;
  priority: TaskPriority;
  estimated_hours: number;
  actual_hours: number | null;
  deadline: Timestamp;
  priority_escalated: Bool;
  /** Set when a deadline warning was sent for the current deadline. */
  deadline_warning_sent_for: Timestamp | null;
  assigned_to: number;
  created_by: number;
  parent_task_id: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/**
 * Tasks per assignee and status, kept by triggers on tasks (migration 0011): their number, and the
 * estimated and actual hours × 100 of those with actual hours > 0. On PostgreSQL, changes written
 * while another transaction held the counts' lock wait in task_status_count_deltas until a later
 * write folds them in: a count is the sum of both.
 */
export interface TaskStatusCountsTable {
  assigned_to: number;
  status: TaskStatus;
  tasks: number;
  estimated_cents: number;
  actual_cents: number;
}

/** Changes of task_status_counts not folded into it yet (PostgreSQL only; empty on SQLite). */
export interface TaskStatusCountDeltasTable extends TaskStatusCountsTable {
  id: Generated<number>;
}

/**
 * Unfinished tasks per assignee and UTC day of their deadline (`deadline_day`: that day's midnight),
 * kept like task_status_counts, with task_deadline_count_deltas beside it.
 */
export interface TaskDeadlineCountsTable {
  assigned_to: number;
  deadline_day: Timestamp;
  tasks: number;
}

export interface TaskDeadlineCountDeltasTable extends TaskDeadlineCountsTable {
  id: Generated<number>;
}

/**
 * task_status_counts added up over every assignee, one row per status (migration 0013, kept by
 * triggers on the counts). Deltas not folded yet are not in it: a team count adds every delta.
 */
export interface TaskStatusTotalsTable {
  status: TaskStatus;
  tasks: number;
  estimated_cents: number;
  actual_cents: number;
}

/** task_deadline_counts added up over every assignee, one row per day with unfinished tasks. */
export interface TaskDeadlineTotalsTable {
  deadline_day: Timestamp;
  tasks: number;
}

export interface TagsTable {
  id: Generated<number>;
  name: string;
  created_at: Timestamp;
}

export interface TaskTagsTable {
  task_id: number;
  tag_id: number;
}

export interface TaskHistoryTable {
  id: Generated<number>;
  task_id: number;
  user_id: number | null;
  action: string;
  from_status: TaskStatus | null;
  to_status: TaskStatus | null;
  /** JSON text: the changed fields. */
  changes: string | null;
  timestamp: Timestamp;
}

/** Comments on tasks (§12); deleted with their task. */
export interface TaskCommentsTable {
  id: Generated<number>;
  task_id: number;
  user_id: number;
  body: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface NotificationsTable {
  id: Generated<number>;
  user_id: number;
  task_id: number | null;
  task_title: string;
  message: string;
  notification_type: NotificationType;
  read: Bool;
  is_delivered: Bool;
  created_at: Timestamp;
  /** Unique when set: a notification that may exist only once (e.g. one deadline warning per deadline). */
  dedupe_key: string | null;
}

export interface ApiAuditLogsTable {
  id: Generated<number>;
  user_id: number | null;
  endpoint: string;
  method: string;
  status_code: number;
  /** JSON text, secrets redacted. */
  request_body: string | null;
  /** JSON text, recorded for error responses only. */
  response_body: string | null;
  ip: string | null;
  user_agent: string | null;
  duration_ms: number;
  timestamp: Timestamp;
  /** The personal API token the request authenticated with, if any. */
  api_token_id: number | null;
}

export type ApiTokenScope = 'read' | 'write';

/** Personal API tokens (§12): only the SHA-256 of a token is stored. */
export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  scope: ApiTokenScope;
  token_hash: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface DB {
  users: UsersTable;
  user_sessions: UserSessionsTable;
  email_verification_tokens: EmailVerificationTokensTable;
  password_reset_tokens: PasswordResetTokensTable;
  invitations: InvitationsTable;
  tasks: TasksTable;
  task_status_counts: TaskStatusCountsTable;
  task_status_count_deltas: TaskStatusCountDeltasTable;
  task_deadline_counts: TaskDeadlineCountsTable;
  task_deadline_count_deltas: TaskDeadlineCountDeltasTable;
  task_status_totals: TaskStatusTotalsTable;
  task_deadline_totals: TaskDeadlineTotalsTable;
  tags: TagsTable;
  task_tags: TaskTagsTable;
  task_history: TaskHistoryTable;
  task_comments: TaskCommentsTable;
  notifications: NotificationsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  api_audit_logs: ApiAuditLogsTable;
  api_tokens: ApiTokensTable;
}
