// Manager invitations: a single-use token for one address, valid INVITATION_TOKEN_DAYS, e-mailed to
// it. Registering with the token (POST /api/auth/register with invitation_token) creates a verified
// developer, also when REGISTRATION_ENABLED=false.
import type { Config } from '../../config.js';
import { badRequest } from '../../errors.js';
import { randomToken, sha256 } from '../../lib/hash.js';
import type { MailMessage } from '../../lib/mailer.js';
import { findTakenIdentity } from '../users/users.repository.js';
import { exposesVerificationToken, type AuthDeps } from './auth.service.js';
import { insertInvitation } from './invitations.repository.js';

export const INVITATION_TOKEN_DAYS = 7;

export interface InvitationPublic {
  message: string;
  email: string;
  expires_at: string;
  invitation_token?: string;
}

export async function inviteUser(deps: AuthDeps, inviterId: number, email: string): Promise<InvitationPublic> {
  // As at registration: an address (or a username) some account already holds cannot be invited.
  if ((await findTakenIdentity(deps.db, { email })).email) throw badRequest('Email already registered');
  const now = deps.clock.now();
  const expiresAt = new Date(now.getTime() + INVITATION_TOKEN_DAYS * 86_400_000).toISOString();
  const token = randomToken();
  await insertInvitation(deps.db, { email, tokenHash: sha256(token), invitedBy: inviterId, now: now.toISOString(), expiresAt });
  deps.mailer.deliver(invitationEmail(deps.config, email, token));
  const answer = { message: 'Invitation sent', email, expires_at: expiresAt };
  // As registration's verification token: in the body only where only the developer reads the log.
  return exposesVerificationToken(deps.config) ? { ...answer, invitation_token: token } : answer;
}

function invitationEmail(config: Config, to: string, token: string): MailMessage {
  return {
    to,
    subject: `${config.appName}: you are invited`,
    text: [
      `A manager invites you to ${config.appName}.`,
      '',
      'Your invitation token is:',
      '',
      `    ${token}`,
      '',
      'Register with POST /api/auth/register as {"username": "<username>", "email": "<this address>", "password": "<password>", ' +
        `"invitation_token": "<token>"} within ${INVITATION_TOKEN_DAYS} days. The token works once, for this address only; ` +
        'the account needs no further verification.',
    ].join('\n'),
  };
}
