// Retention: deletes rows that have outlived their use — expired or long-revoked sessions, expired or
// used verification, password-reset and invitation tokens, audit rows older than AUDIT_RETENTION_DAYS, read notifications older
// than the notification retention, and finished webhook deliveries older than theirs. Run by `ctms cleanup`, `ctms jobs run` and the scheduler (runner.ts).
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Revoked sessions are kept a day so a replayed refresh token is still recognised as reuse. */
const REVOKED_SESSION_GRACE_MS = DAY_MS;
export const READ_NOTIFICATION_RETENTION_DAYS = 30;
/** Succeeded and failed webhook deliveries stay in the delivery log this long. */
export const WEBHOOK_DELIVERY_RETENTION_DAYS = 30;

export interface RetentionResult {
  sessions: number;
  verificationTokens: number;
  /** Password-reset and invitation tokens. */
  accountTokens: number;
  auditLogs: number;
  notifications: number;
  webhookDeliveries: number;
}

export async function runRetention(db: Database, config: Config, now: Date): Promise<RetentionResult> {
  const nowIso = now.toISOString();
  const revokedBefore = new Date(now.getTime() - REVOKED_SESSION_GRACE_MS).toISOString();
  const auditBefore = new Date(now.getTime() - config.auditRetentionDays * DAY_MS).toISOString();
  const notificationsBefore = new Date(now.getTime() - READ_NOTIFICATION_RETENTION_DAYS * DAY_MS).toISOString();
  const deliveriesBefore = new Date(now.getTime() - WEBHOOK_DELIVERY_RETENTION_DAYS * DAY_MS).toISOString();

  const sessions = await db
    .deleteFrom('user_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', nowIso), eb('revoked_at', '<=', revokedBefore)]))
    .executeTakeFirst();
  const verificationTokens = await db
    .deleteFrom('email_verification_tokens')
    .where((eb) => eb.or([eb('expires_at', '<=', nowIso), eb('used_at', 'is not', null)]))
    .executeTakeFirst();
  let accountTokens = 0;
  for (const table of ['password_reset_tokens', 'invitations'] as const) {
    const removed = await db
      .deleteFrom(table)
      .where((eb) => eb.or([eb('expires_at', '<=', nowIso), eb('used_at', 'is not', null)]))
      .executeTakeFirst();
    accountTokens += Number(removed.numDeletedRows);
  }
  const auditLogs = await db.deleteFrom('api_audit_logs').where('timestamp', '<', auditBefore).executeTakeFirst();
  const notifications = await db
    .deleteFrom('notifications')
    .where('read', '=', true)
    .where('created_at', '<', notificationsBefore)
    .executeTakeFirst();
  const webhookDeliveries = await db
    .deleteFrom('webhook_deliveries')
    .where('state', 'in', ['succeeded', 'failed'])
    .where('created_at', '<', deliveriesBefore)
    .executeTakeFirst();
  return {
    sessions: Number(sessions.numDeletedRows),
    verificationTokens: Number(verificationTokens.numDeletedRows),
    accountTokens,
    auditLogs: Number(auditLogs.numDeletedRows),
    notifications: Number(notifications.numDeletedRows),
    webhookDeliveries: Number(webhookDeliveries.numDeletedRows),
  };
}

/** "2 sessions, 0 verification tokens, 0 reset and invitation tokens, 1 audit rows, 0 read notifications, 0 webhook deliveries". */
export function describeRetention(removed: RetentionResult): string {
  return (
    `${removed.sessions} sessions, ${removed.verificationTokens} verification tokens, ` +
    `${removed.accountTokens} reset and invitation tokens, ${removed.auditLogs} audit rows, ` +
    `${removed.notifications} read notifications, ${removed.webhookDeliveries} webhook deliveries`
  );
}
