// Registration, e-mail verification, login, refresh and logout. Each operation's writes happen in
// one transaction; slow work (bcrypt, e-mail) stays outside it. Only SHA-256 hashes of refresh and
// verification tokens are stored.
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import { isUniqueViolation, type Database } from '../../db/database.js';
import { AppError, badRequest, forbidden, invalid } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { hashPassword, randomToken, sha256 } from '../../lib/hash.js';
import type { MailMessage, Mailer } from '../../lib/mailer.js';
import { normalizeTimeZone } from '../../lib/timezone.js';
import {
  claimIdentity,
  findTakenIdentity,
  findLoginCandidate,
  findUserByEmail,
  findUserById,
  insertUser,
  lockUser,
  lockUserForLogin,
  markEmailVerified,
  updateUser,
} from '../users/users.repository.js';
import type { Login, Register } from './auth.schemas.js';
import { passwordMatches } from './passwords.js';
import {
  deleteDeadSessions,
  findSessionState,
  insertSession,
  revokeSession,
  revokeUserSessions,
  rotateRefreshToken,
  setRefreshTokenHash,
  trimLiveSessions,
  type SessionState,
} from './sessions.repository.js';
import {
  issueAccessToken,
  issueRefreshToken,
  readToken,
  refreshLifetimeSeconds,
  rotatedRefreshToken,
  type IssuedToken,
} from './tokens.js';
import { consumeInvitation, findInvitation } from './invitations.repository.js';
import {
  consumeVerificationToken,
  deleteUnusedVerificationTokens,
  findVerificationToken,
  insertVerificationToken,
} from './verification.repository.js';

export interface AuthDeps {
  db: Database;
  config: Config;
  clock: Clock;
  mailer: Mailer;
  log: FastifyBaseLogger;
  /** See passwords.ts: compared against when the login names no account. */
  dummyHash: Promise<string>;
}

export const INCORRECT_CREDENTIALS = 'Incorrect username or password';
export const RESEND_MESSAGE = 'If the address belongs to an account awaiting verification, a new verification e-mail has been sent.';

export interface Client {
  /** The device_id cookie, when present and well-formed. */
  deviceId?: string;
  userAgent: string | null;
  ip: string | null;
}

export interface IssuedSession {
  userId: number;
  sessionId: number;
  deviceId: string;
  access: IssuedToken;
  refresh: IssuedToken;
  /** A login replaced this device's earlier session or evicted one over the cap. */
  revokedOthers: boolean;
}

// ---------------------------------------------------------------------------------------------
// Registration and verification

/** The token goes back in the body only where nobody but the developer could read the log anyway. */
export const exposesVerificationToken = (config: Config) => config.emailBackend === 'console' && config.environment !== 'production';

/**
 * Registers a developer. Without an invitation this needs REGISTRATION_ENABLED and a verification
 * of the address; with a manager's invitation for this address the account is created verified
 * (the invitation e-mail proved the address) and the invitation is used up in the same transaction.
 */
export async function registerUser(deps: AuthDeps, input: Register): Promise<{ message: string; verification_token?: string }> {
  const { db, config } = deps;
  const invitationHash = input.invitation_token === undefined ? undefined : sha256(input.invitation_token);
  if (invitationHash === undefined && !config.registrationEnabled) throw forbidden(REGISTRATION_DISABLED);
  const timezone = normalizeTimeZone(input.timezone ?? config.defaultTimezone);
  if (timezone === undefined) throw invalid(['body', 'timezone'], 'Unknown time zone; use an IANA name such as Europe/Paris');
  const identity = { username: input.username, email: input.email };
  assertIdentityFree(await findTakenIdentity(db, identity));
  const now = deps.clock.now();
  if (invitationHash !== undefined) assertInvitationUsable(await findInvitation(db, invitationHash), input.email, now.toISOString());

  const hashedPassword = await hashPassword(input.password, config.bcryptRounds);
  const token = randomToken();
  const emailVerified = invitationHash !== undefined;
  try {
    await db.transaction().execute(async (trx) => {
      // Checked again under the identity locks: a registration racing this one may have won.
      assertIdentityFree(await claimIdentity(trx, identity));
      // Used up here, so two registrations with one invitation cannot both succeed.
      if (invitationHash !== undefined && !(await consumeInvitation(trx, invitationHash, input.email, now.toISOString()))) {
        throw badRequest(INVALID_INVITATION);
      }
      const userId = await insertUser(
        trx,
        { username: input.username, email: input.email, hashedPassword, role: 'developer', timezone, emailVerified },
        now.toISOString(),
      );
      if (emailVerified) return;
      await insertVerificationToken(trx, { userId, tokenHash: sha256(token), now: now.toISOString(), expiresAt: verificationExpiry(config, now) });
    });
  } catch (error) {
    // A concurrent registration won the unique index between the check and the insert.
    if (isUniqueViolation(error)) {
      assertIdentityFree(await findTakenIdentity(db, identity));
      throw badRequest('Username already registered');
    }
    throw error;
  }
  if (emailVerified) return { message: 'User registered successfully. You can log in now.' };
  deps.mailer.deliver(verificationEmail(config, input.email, token));
  const message = 'User registered successfully. Please verify your email address.';
  return exposesVerificationToken(config) ? { message, verification_token: token } : { message };
}

export const REGISTRATION_DISABLED = 'Registration is disabled: ask a manager for an invitation';
const INVALID_INVITATION = 'Invalid invitation token';

/** Refuses (400) an invitation that is unknown, used, expired or for another address. */
function assertInvitationUsable(invitation: { email: string; usedAt: string | null; expiresAt: string } | undefined, email: string, now: string): void {
  if (!invitation) throw badRequest(INVALID_INVITATION);
  if (invitation.usedAt !== null) throw badRequest('Invitation has already been used');
  if (invitation.expiresAt <= now) throw badRequest('Invitation has expired');
  if (invitation.email.toLowerCase() !== email.toLowerCase()) throw badRequest('This invitation is for another e-mail address');
}

function assertIdentityFree(taken: { username: boolean; email: boolean }): void {
  if (taken.username) throw badRequest('Username already registered');
  if (taken.email) throw badRequest('Email already registered');
}

/**
 * Uses a verification token: marks the account's address verified, or — for the token of an e-mail
 * change — makes the new address the account's (verified), provided no other account has taken it
 * since the change was asked for (pending addresses are not reserved).
 */
/** Returns the id of the user whose address it verified. */
export async function verifyEmail(deps: AuthDeps, token: string): Promise<number> {
  const tokenHash = sha256(token);
  const owner = await findVerificationToken(deps.db, tokenHash);
  if (!owner) throw badRequest('Invalid verification token');
  const now = deps.clock.now().toISOString();
  const verified = await deps.db.transaction().execute(async (trx) => {
    // The user's row first, as resendVerification does: the two never wait on each other crosswise
    // (a deadlock in PostgreSQL), and a resend either sees the user verified or supersedes the token.
    await lockUser(trx, owner.userId);
    const used = await consumeVerificationToken(trx, tokenHash, now);
    if (used === undefined) return false;
    if (used.newEmail === null) {
      await markEmailVerified(trx, used.userId, now);
      return true;
    }
    // Rolled back with the token unused if the address is taken now.
    if ((await claimIdentity(trx, { email: used.newEmail }, used.userId)).email) throw badRequest('Email already registered');
    await updateUser(trx, used.userId, { email: used.newEmail, emailVerified: true }, now);
    await deleteUnusedVerificationTokens(trx, used.userId, 'e-mail change');
    return true;
  });
  if (verified) return owner.userId;
  // Read again: a resend may have deleted the token meanwhile.
  const known = await findVerificationToken(deps.db, tokenHash);
  if (!known) throw badRequest('Invalid verification token');
  if (known.usedAt !== null) throw badRequest('Verification token has already been used');
  throw badRequest('Verification token has expired');
}

/**
 * Issues a fresh token for an active, unverified account and returns the e-mail carrying it; returns
 * nothing otherwise. Runs after the request has been answered (see the route).
 */
export async function resendVerification(deps: AuthDeps, email: string): Promise<MailMessage | undefined> {
  const user = await findUserByEmail(deps.db, email);
  if (!user || user.email_verified || !user.is_active) return undefined;
  const now = deps.clock.now();
  const token = randomToken();
  const issued = await deps.db.transaction().execute(async (trx) => {
    // The row lock makes parallel resends of one user run one at a time, so each deletes the token
    // the previous one inserted: exactly one stays valid. The flags are re-read under the lock
    // because a verification may have committed since the read above.
    const flags = await lockUser(trx, user.id);
    if (!flags || flags.emailVerified || !flags.isActive) return false;
    await deleteUnusedVerificationTokens(trx, user.id, 'own address');
    await insertVerificationToken(trx, {
      userId: user.id,
      tokenHash: sha256(token),
      now: now.toISOString(),
      expiresAt: verificationExpiry(deps.config, now),
    });
    return true;
  });
  return issued ? verificationEmail(deps.config, user.email, token) : undefined;
}

/**
 * Records a pending change of the user's address to `newEmail` (replacing any earlier pending
 * change) and returns the e-mail to send to that address. The caller holds the user's row lock and
 * sends the e-mail after committing; the address changes only when the token comes back.
 */
export async function requestEmailChange(trx: Database, config: Config, userId: number, newEmail: string, now: Date): Promise<MailMessage> {
  const token = randomToken();
  await deleteUnusedVerificationTokens(trx, userId, 'e-mail change');
  await insertVerificationToken(trx, {
    userId,
    tokenHash: sha256(token),
    now: now.toISOString(),
    expiresAt: verificationExpiry(config, now),
    newEmail,
  });
  return {
    to: newEmail,
    subject: `${config.appName}: confirm your new email address`,
    text: [
      `Someone (hopefully you) asked to make this address the e-mail address of a ${config.appName} account.`,
      '',
      'Your email verification token is:',
      '',
      `    ${token}`,
      '',
      `Submit it to POST /api/auth/verify-email as {"token": "<token>"} within ${config.verificationTokenExpireHours} hours;`,
      'the account keeps its current address until then. If you did not ask for this, ignore this message.',
    ].join('\n'),
  };
}

const verificationExpiry = (config: Config, now: Date) =>
  new Date(now.getTime() + config.verificationTokenExpireHours * 3_600_000).toISOString();

function verificationEmail(config: Config, to: string, token: string): MailMessage {
  return {
    to,
    subject: `${config.appName}: verify your email address`,
    text: [
      `Welcome to ${config.appName}.`,
      '',
      'Your email verification token is:',
      '',
      `    ${token}`,
      '',
      `Submit it to POST /api/auth/verify-email as {"token": "<token>"} within ${config.verificationTokenExpireHours} hours.`,
      'If you did not create this account, ignore this message.',
    ].join('\n'),
  };
}

// ---------------------------------------------------------------------------------------------
// Login, refresh, logout

export async function login(deps: AuthDeps, input: Login, client: Client): Promise<IssuedSession> {
  const { db, config } = deps;
  const candidate = await findLoginCandidate(db, input.username);
  // Same bcrypt work whether or not the account exists.
  const matches = await passwordMatches(input.password, candidate?.hashedPassword ?? (await deps.dummyHash));
  if (!candidate || !matches) throw badRequest(INCORRECT_CREDENTIALS);
  if (!candidate.isActive) throw forbidden('Inactive user');
  if (!candidate.emailVerified) throw forbidden('Email not verified');

  const now = deps.clock.now();
  const iso = now.toISOString();
  const deviceId = client.deviceId ?? randomUUID();
  const outcome = await db.transaction().execute(async (trx) => {
    // First statement: locks the user's row, so parallel logins of one user run one at a time, and
    // a password change (which writes this row first) either commits before it — then the hash
    // differs from the one just verified — or after it, and then revokes the session made here.
    const flags = await lockUserForLogin(trx, candidate.id, iso);
    if (!flags || flags.hashedPassword !== candidate.hashedPassword) return { refused: badRequest(INCORRECT_CREDENTIALS) };
    if (!flags.isActive) return { refused: forbidden('Inactive user') };
    await deleteDeadSessions(trx, candidate.id, iso);
    // One session per device: logging in again from a device replaces its previous session.
    const replaced = client.deviceId ? await revokeUserSessions(trx, candidate.id, iso, 'device_replaced', { deviceId: client.deviceId }) : 0;
    const evicted = await trimLiveSessions(trx, candidate.id, config.maxSessionsPerUser - 1, iso);
    const sessionId = await insertSession(trx, {
      userId: candidate.id,
      deviceId,
      userAgent: client.userAgent,
      ip: client.ip,
      now: iso,
      expiresAt: refreshExpiry(config, now),
    });
    const refresh = issueRefreshToken(config, candidate.id, sessionId, now);
    await setRefreshTokenHash(trx, sessionId, sha256(refresh.token));
    return { sessionId, refresh, evicted, replaced };
  });
  if ('refused' in outcome) throw outcome.refused;
  if (outcome.evicted.length > 0) {
    deps.log.info({ userId: candidate.id, evictedSessions: outcome.evicted }, 'session limit reached: least recently used sessions revoked');
  }
  return {
    userId: candidate.id,
    sessionId: outcome.sessionId,
    deviceId,
    refresh: outcome.refresh,
    access: issueAccessToken(config, candidate.id, outcome.sessionId, now),
    revokedOthers: outcome.replaced > 0 || outcome.evicted.length > 0,
  };
}

/** The session's expiry equals its refresh token's `exp` (whole seconds). */
const refreshExpiry = (config: Config, now: Date) =>
  new Date((Math.floor(now.getTime() / 1000) + refreshLifetimeSeconds(config)) * 1000).toISOString();

type RefreshOutcome = { ok: true; deviceId: string; refresh: IssuedToken } | { ok: false; error: AppError };

/** A refresh refused because its token was replayed: the session was revoked (and that committed). */
export class RefreshTokenReused extends AppError {
  constructor(readonly userId: number) {
    super(400, 'Refresh token already used; the session has been revoked');
    this.name = 'RefreshTokenReused';
  }
}

/**
 * Rotates the refresh token. A token that is signed, unexpired and names a live session but is not
 * that session's current token has been rotated already. Within REFRESH_REUSE_GRACE_SECONDS of that
 * rotation it is another tab that refreshed at the same moment, and it gets the same new refresh
 * token (derived again: see rotatedRefreshToken) with an access token for the session. Later,
 * someone is replaying it: the whole session is revoked (and that revocation is committed even
 * though the request fails).
 */
export async function refreshSession(deps: AuthDeps, presented: string | undefined): Promise<IssuedSession> {
  const { db, config } = deps;
  if (!presented) throw badRequest('Refresh token missing');
  const now = deps.clock.now();
  const iso = now.toISOString();
  const claims = readToken(config, presented, 'refresh', now);
  if (!claims) throw badRequest('Invalid or expired refresh token');
  const presentedHash = sha256(presented);

  const next = rotatedRefreshToken(config, claims.userId, claims.sessionId, presentedHash, now);
  const outcome = await db.transaction().execute(async (trx): Promise<RefreshOutcome> => {
    const user = await findUserById(trx, claims.userId);
    if (!user) return { ok: false, error: badRequest('Invalid or expired refresh token') };
    // Every refresh failure is a 400 (§3); the detail still says why.
    if (!user.is_active) return { ok: false, error: badRequest('Inactive user') };
    if (!user.email_verified) return { ok: false, error: badRequest('Email not verified') };
    const rotated = await rotateRefreshToken(trx, {
      sessionId: claims.sessionId,
      userId: claims.userId,
      presentedHash,
      nextHash: sha256(next.token),
      now: iso,
      expiresAt: refreshExpiry(config, now),
    });
    if (rotated) return { ok: true, deviceId: rotated.deviceId, refresh: next };

    const session = await findSessionState(trx, claims.sessionId);
    if (!session || session.userId !== claims.userId) return { ok: false, error: badRequest('Invalid or expired refresh token') };
    if (session.revokedAt !== null) return { ok: false, error: badRequest('Session has been revoked') };
    if (session.expiresAt <= iso) return { ok: false, error: badRequest('Session has expired') };
    const repeated = repeatedRotation(config, session, presentedHash, now);
    if (repeated) return { ok: true, deviceId: session.deviceId, refresh: repeated };
    await revokeSession(trx, session.id, iso, 'refresh_reuse');
    return { ok: false, error: new RefreshTokenReused(session.userId) };
  });
  if (!outcome.ok) {
    if (outcome.error instanceof RefreshTokenReused) {
      deps.log.warn({ userId: claims.userId, sessionId: claims.sessionId }, 'refresh token reuse detected: session revoked');
    }
    throw outcome.error;
  }
  return {
    userId: claims.userId,
    sessionId: claims.sessionId,
    deviceId: outcome.deviceId,
    refresh: outcome.refresh,
    access: issueAccessToken(config, claims.userId, claims.sessionId, now),
    revokedOthers: false,
  };
}

/**
 * The token the session's last rotation issued, when `presentedHash` is the token it replaced and
 * that rotation is at most REFRESH_REUSE_GRACE_SECONDS old (and still the session's current token).
 */
function repeatedRotation(config: Config, session: SessionState, presentedHash: string, now: Date): IssuedToken | undefined {
  const { previousRefreshTokenHash: previous, refreshRotatedAt: rotatedAt } = session;
  if (config.refreshReuseGraceSeconds <= 0 || previous !== presentedHash || rotatedAt === null) return undefined;
  if (now.getTime() - Date.parse(rotatedAt) > config.refreshReuseGraceSeconds * 1000) return undefined;
  const token = rotatedRefreshToken(config, session.userId, session.id, presentedHash, new Date(rotatedAt));
  return sha256(token.token) === session.refreshTokenHash ? token : undefined;
}

export async function logout(deps: AuthDeps, sessionId: number): Promise<void> {
  await revokeSession(deps.db, sessionId, deps.clock.now().toISOString(), 'logout');
}

export async function logoutAll(deps: AuthDeps, userId: number): Promise<number> {
  return revokeUserSessions(deps.db, userId, deps.clock.now().toISOString(), 'logout_all');
}
