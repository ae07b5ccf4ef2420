// Every migration, in order. Listed explicitly: no directory scanning, so builds and bundles see them.
import type { Migration } from 'kysely';
import * as initial from './0001_initial.js';
import * as notificationDedupe from './0002_notification_dedupe.js';
import * as emailChangeAndRefreshGrace from './0003_email_change_and_refresh_grace.js';
import * as passwordResetTokens from './0004_password_reset_tokens.js';
import * as invitations from './0005_invitations.js';
import * as sessionRevokedReason from './0006_session_revoked_reason.js';
import * as performanceIndexes from './0007_performance_indexes.js';
import * as comments from './0008_comments.js';
import * as webhooks from './0009_webhooks.js';
import * as apiTokens from './0010_api_tokens.js';
import * as taskCounts from './0011_task_counts.js';
import * as deadlineDayIndex from './0012_deadline_day_index.js';
import * as teamTaskCounts from './0013_team_task_counts.js';
import * as countTriggerUpserts from './0014_count_trigger_upserts.js';

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_notification_dedupe': notificationDedupe,
  '0003_email_change_and_refresh_grace': emailChangeAndRefreshGrace,
  '0004_password_reset_tokens': passwordResetTokens,
  '0005_invitations': invitations,
  '0006_session_revoked_reason': sessionRevokedReason,
  '0007_performance_indexes': performanceIndexes,
  '0008_comments': comments,
  '0009_webhooks': webhooks,
  '0010_api_tokens': apiTokens,
  '0011_task_counts': taskCounts,
  '0012_deadline_day_index': deadlineDayIndex,
  '0013_team_task_counts': teamTaskCounts,
  '0014_count_trigger_upserts': countTriggerUpserts,
};
