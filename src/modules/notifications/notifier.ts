// The after-commit side of notifications: pushing new notifications to the recipients' open sockets
// and telling sockets that their sessions may have been revoked — on this instance directly and, with
// Redis, on every other instance. Callers invoke it only after their transaction committed; it never
// throws and never makes them wait, so a broken bus cannot fail a write that already happened.
import type { NotificationPublic } from './notifications.schemas.js';

export interface Notifier {
  /** Pushes these notifications (already committed) to their recipients' sockets, everywhere. */
  deliver(notifications: readonly NotificationPublic[]): void;
  /** Sessions of these users were revoked (committed): their sockets re-check and close if dead. */
  sessionsRevoked(userIds: readonly number[]): void;
}
