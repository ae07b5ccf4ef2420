// The whole data model of the contract: users and their sessions, tasks with tags and history,
// notifications and the API audit trail. Never imports application code.
import { sql, type Kysely } from 'kysely';
import { columnKinds, falseDefault, trueDefault } from './column-types.js';

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnKinds(db);
  const id = (col: import('kysely').ColumnDefinitionBuilder) =>
    t.isPostgres ? col.primaryKey() : col.primaryKey().autoIncrement();

  await db.schema
    .createTable('users')
    .addColumn('id', t.id, id)
    .addColumn('username', 'varchar(150)', (c) => c.notNull())
    .addColumn('email', 'varchar(254)', (c) => c.notNull())
    .addColumn('hashed_password', 'varchar(255)', (c) => c.notNull())
    .addColumn('role', 'varchar(20)', (c) => c.notNull().defaultTo('developer').check(sql`role in ('manager','developer','auditor')`))
    .addColumn('timezone', 'varchar(64)', (c) => c.notNull().defaultTo('UTC'))
    .addColumn('email_verified', t.boolean, (c) => c.notNull().defaultTo(falseDefault(t)))
    .addColumn('is_active', t.boolean, (c) => c.notNull().defaultTo(trueDefault(t)))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_login', t.timestamp)
    .execute();
  await db.schema.createIndex('users_username_lower_key').on('users').unique().expression(sql`lower(username)`).execute();
  await db.schema.createIndex('users_email_lower_key').on('users').unique().expression(sql`lower(email)`).execute();
  await db.schema.createIndex('users_role_idx').on('users').column('role').execute();

  await db.schema
    .createTable('user_sessions')
    .addColumn('id', t.id, id)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('refresh_token_hash', 'varchar(64)', (c) => c.notNull())
    .addColumn('device_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('ip', 'varchar(64)')
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('last_used', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('revoked_at', t.timestamp)
    .execute();
  await db.schema.createIndex('user_sessions_user_id_idx').on('user_sessions').columns(['user_id', 'last_used']).execute();
  await db.schema.createIndex('user_sessions_expires_at_idx').on('user_sessions').column('expires_at').execute();

  await db.schema
    .createTable('email_verification_tokens')
    .addColumn('id', t.id, id)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('expires_at', t.timestamp, (c) => c.notNull())
    .addColumn('used_at', t.timestamp)
    .execute();
  await db.schema.createIndex('email_verification_tokens_user_id_idx').on('email_verification_tokens').column('user_id').execute();
  await db.schema.createIndex('email_verification_tokens_expires_at_idx').on('email_verification_tokens').column('expires_at').execute();

  await db.schema
    .createTable('tasks')
    .addColumn('id', t.id, id)
    .addColumn('title', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('status', 'varchar(20)', (c) =>
      c.notNull().defaultTo('pending').check(sql`status in ('pending','in_progress','blocked','completed')`),
    )
    .addColumn('priority', 'varchar(20)', (c) =>
      c.notNull().defaultTo('medium').check(sql`priority in ('low','medium','high','critical')`),
    )
    .addColumn('estimated_hours', t.hours, (c) => c.notNull())
    .addColumn('actual_hours', t.hours)
    .addColumn('deadline', t.timestamp, (c) => c.notNull())
    .addColumn('priority_escalated', t.boolean, (c) => c.notNull().defaultTo(falseDefault(t)))
    .addColumn('deadline_warning_sent_for', t.timestamp)
    .addColumn('assigned_to', 'integer', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('created_by', 'integer', (c) => c.notNull().references('users.id').onDelete('restrict'))
    .addColumn('parent_task_id', 'integer', (c) => c.references('tasks.id').onDelete('set null'))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .addColumn('updated_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tasks_assigned_to_created_at_idx').on('tasks').columns(['assigned_to', 'created_at']).execute();
  await db.schema.createIndex('tasks_created_by_idx').on('tasks').column('created_by').execute();
  await db.schema.createIndex('tasks_parent_task_id_idx').on('tasks').column('parent_task_id').execute();
  await db.schema.createIndex('tasks_status_idx').on('tasks').column('status').execute();
  await db.schema.createIndex('tasks_deadline_idx').on('tasks').column('deadline').execute();
  await db.schema.createIndex('tasks_created_at_idx').on('tasks').column('created_at').execute();

  await db.schema
    .createTable('tags')
    .addColumn('id', t.id, id)
    .addColumn('name', 'varchar(50)', (c) => c.notNull())
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('tags_name_lower_key').on('tags').unique().expression(sql`lower(name)`).execute();

  await db.schema
    .createTable('task_tags')
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('tag_id', 'integer', (c) => c.notNull().references('tags.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('task_tags_pkey', ['task_id', 'tag_id'])
    .execute();
  await db.schema.createIndex('task_tags_tag_id_idx').on('task_tags').columns(['tag_id', 'task_id']).execute();

  await db.schema
    .createTable('task_history')
    .addColumn('id', t.id, id)
    .addColumn('task_id', 'integer', (c) => c.notNull().references('tasks.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('action', 'varchar(50)', (c) => c.notNull())
    .addColumn('from_status', 'varchar(20)')
    .addColumn('to_status', 'varchar(20)')
    .addColumn('changes', t.json)
    .addColumn('timestamp', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('task_history_task_id_idx').on('task_history').columns(['task_id', 'id']).execute();

  await db.schema
    .createTable('notifications')
    .addColumn('id', t.id, id)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('task_id', 'integer', (c) => c.references('tasks.id').onDelete('set null'))
    .addColumn('task_title', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('notification_type', 'varchar(30)', (c) => c.notNull())
    .addColumn('read', t.boolean, (c) => c.notNull().defaultTo(falseDefault(t)))
    .addColumn('is_delivered', t.boolean, (c) => c.notNull().defaultTo(falseDefault(t)))
    .addColumn('created_at', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('notifications_user_id_idx').on('notifications').columns(['user_id', 'id']).execute();
  await db.schema.createIndex('notifications_user_unread_idx').on('notifications').columns(['user_id', 'read']).execute();
  await db.schema.createIndex('notifications_task_id_idx').on('notifications').column('task_id').execute();

  await db.schema
    .createTable('api_audit_logs')
    .addColumn('id', t.id, id)
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('endpoint', 'varchar(512)', (c) => c.notNull())
    .addColumn('method', 'varchar(10)', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('request_body', t.json)
    .addColumn('response_body', t.json)
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('duration_ms', t.isPostgres ? 'double precision' : 'real', (c) => c.notNull())
    .addColumn('timestamp', t.timestamp, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('api_audit_logs_timestamp_idx').on('api_audit_logs').column('timestamp').execute();
  await db.schema.createIndex('api_audit_logs_user_id_idx').on('api_audit_logs').columns(['user_id', 'timestamp']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'api_audit_logs',
    'notifications',
    'task_history',
    'task_tags',
    'tags',
    'tasks',
    'email_verification_tokens',
    'user_sessions',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
