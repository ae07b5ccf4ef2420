// Account recovery: a forgotten password is replaced through a single-use token e-mailed to the
// account's address (valid PASSWORD_RESET_TOKEN_HOURS). Only the token's SHA-256 is stored; using
// it sets the new password and revokes every session of the user, in one transaction.
import { revokeAllApiTokens } from '../api-tokens/api-tokens.repository.js';
import type { Config } from '../../config.js';
import { badRequest } from '../../errors.js';
import { hashPassword, randomToken, sha256 } from '../../lib/hash.js';
import type { MailMessage } from '../../lib/mailer.js';
import { findUserByEmail, lockUser, updateUser } from '../users/users.repository.js';
import type { AuthDeps } from './auth.service.js';
import type { PasswordResetConfirm } from './auth.schemas.js';
import {
  consumePasswordResetToken,
  deleteUnusedPasswordResetTokens,
  findPasswordResetTokenUser,
  insertPasswordResetToken,
} from './password-reset.repository.js';
import { revokeUserSessions } from './sessions.repository.js';

export const PASSWORD_RESET_TOKEN_HOURS = 1;
export const PASSWORD_RESET_REQUEST_MESSAGE = 'If the address belongs to an account, a password reset e-mail has been sent.';
export const INVALID_RESET_TOKEN = 'Invalid, used or expired password reset token';

/**
 * Issues a reset token for the active account with this address and returns the e-mail carrying it
 * (earlier unused tokens stop working); returns nothing for an unknown or inactive address. Runs
 * after the request has been answered (see the route), so the answer's timing tells nothing.
 */
export async function requestPasswordReset(deps: AuthDeps, email: string): Promise<MailMessage | undefined> {
  const user = await findUserByEmail(deps.db, email);
  if (!user || !user.is_active) return undefined;
  const now = deps.clock.now();
  const token = randomToken();
  const issued = await deps.db.transaction().execute(async (trx) => {
    // The user's row first, as every token operation does: parallel requests run one at a time, so
    // exactly one token stays valid.
    const flags = await lockUser(trx, user.id);
    if (!flags?.isActive) return false;
    await deleteUnusedPasswordResetTokens(trx, user.id);
    await insertPasswordResetToken(trx, {
      userId: user.id,
      tokenHash: sha256(token),
      now: now.toISOString(),
      expiresAt: new Date(now.getTime() + PASSWORD_RESET_TOKEN_HOURS * 3_600_000).toISOString(),
    });
    return true;
  });
  return issued ? passwordResetEmail(deps.config, user.email, token) : undefined;
}

/** Uses a reset token: sets the new password and revokes every session. Returns the user's id. */
export async function confirmPasswordReset(deps: AuthDeps, input: PasswordResetConfirm): Promise<number> {
  const tokenHash = sha256(input.token);
  const owner = await findPasswordResetTokenUser(deps.db, tokenHash);
  if (owner === undefined) throw badRequest(INVALID_RESET_TOKEN);
  // bcrypt stays outside the transaction; an unknown token never costs one.
  const hashedPassword = await hashPassword(input.new_password, deps.config.bcryptRounds);
  const now = deps.clock.now().toISOString();
  const done = await deps.db.transaction().execute(async (trx) => {
    // The user's row first (as a login and a password change do): a login racing this one either
    // committed before, and its session is revoked here, or sees the new hash and is refused.
    await lockUser(trx, owner);
    if ((await consumePasswordResetToken(trx, tokenHash, now)) !== owner) return false;
    await updateUser(trx, owner, { hashedPassword }, now);
    await deleteUnusedPasswordResetTokens(trx, owner);
    await revokeUserSessions(trx, owner, now, 'password_reset');
    // Recovering an account also ends its scripts' access: a token may be how it was taken over.
    await revokeAllApiTokens(trx, owner, now);
    return true;
  });
  if (!done) throw badRequest(INVALID_RESET_TOKEN);
  return owner;
}

function passwordResetEmail(config: Config, to: string, token: string): MailMessage {
  return {
    to,
    subject: `${config.appName}: reset your password`,
    text: [
      `Someone (hopefully you) asked to reset the password of your ${config.appName} account.`,
      '',
      'Your password reset token is:',
      '',
      `    ${token}`,
      '',
      `Submit it to POST /api/auth/password-reset/confirm as {"token": "<token>", "new_password": "<new password>"} ` +
        `within ${PASSWORD_RESET_TOKEN_HOURS} hour. It works once; every session of the account is then logged out.`,
      'If you did not ask for this, ignore this message: your password stays as it is.',
    ].join('\n'),
  };
}
