// /api/auth: registration, e-mail verification, login, token refresh, logout and the caller's
// sessions. The first five are public and never look at an Authorization header.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../../errors.js';
import { currentSessionId, currentUser } from '../../plugins/auth.js';
import { errorResponses, IdParamsSchema, MessageSchema } from '../../schemas/common.js';
import { sessionCookies } from './auth.cookies.js';
import {
  InvitationCreateSchema,
  InvitationPublicSchema,
  LoginSchema,
  MessageResponseSchema,
  type Login,
  PasswordResetConfirmSchema,
  PasswordResetRequestSchema,
  RegisterResponseSchema,
  RegisterSchema,
  ResendVerificationSchema,
  SessionPublicSchema,
  TokenResponseSchema,
  VerifyEmailSchema,
} from './auth.schemas.js';
import {
  login,
  logout,
  logoutAll,
  RefreshTokenReused,
  refreshSession,
  registerUser,
  RESEND_MESSAGE,
  resendVerification,
  verifyEmail,
  type AuthDeps,
  type Client,
  type IssuedSession,
} from './auth.service.js';
import { INVITATION_TOKEN_DAYS, inviteUser } from './invitations.service.js';
import { oauthTokenRoutes } from './oauth-token.routes.js';
import { dummyPasswordHash } from './passwords.js';
import {
  confirmPasswordReset,
  PASSWORD_RESET_REQUEST_MESSAGE,
  PASSWORD_RESET_TOKEN_HOURS,
  requestPasswordReset,
} from './recovery.service.js';
import { listLiveSessions, revokeLiveSessionOfUser } from './sessions.repository.js';

const tags = ['auth'];
const security = [{ bearerAuth: [] }];

export async function authRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const deps: AuthDeps = {
    db: app.db,
    config: app.config,
    clock: app.clock,
    mailer: app.mailer,
    log: app.log,
    dummyHash: dummyPasswordHash(app.config.bcryptRounds),
  };
  const cookies = sessionCookies(app.config, app.prefix);
  /** The caller's own session just ended: no cookies, and no renewed access token for it. */
  const endSession = (request: FastifyRequest, reply: FastifyReply) => {
    request.renewedAccessToken = null;
    cookies.clear(reply);
  };
  /** Login's work, for /login and the OAuth2 /token alike: a new device session and its cookies. */
  const startSession = async (request: FastifyRequest, reply: FastifyReply, credentials: Login) => {
    const issued = await login(deps, credentials, client(request, cookies.deviceId(request)));
    // The login may have evicted a session (device cap) or replaced this device's previous one.
    if (issued.revokedOthers) await app.sessionCache.forget([issued.userId]);
    app.notifier.sessionsRevoked([issued.userId]);
    cookies.set(reply, issued.refresh.token, issued.deviceId);
    return issued;
  };
  const tokenBody = (issued: IssuedSession) => ({
    access: issued.access.token,
    token_type: 'bearer' as const,
    expires_in: issued.access.expiresIn,
  });

  app.post(
    '/register',
    {
      schema: {
        tags,
        summary: 'Register a developer account',
        description:
          'Creates an unverified developer and sends a verification token by e-mail. With the console e-mail backend ' +
          '(outside production) the token is also returned in the body. Usernames and e-mails are unique together, ' +
          "case-insensitively: a username equal to any account's e-mail, or an e-mail equal to any account's username, " +
          'is already registered (400). With REGISTRATION_ENABLED=false this answers 403 unless the body carries an ' +
          "`invitation_token` (POST /api/auth/invitations). With a manager's invitation for the same e-mail address the " +
          'account is created verified (no verification e-mail); an unknown, used or expired invitation, or one for another ' +
          'address, is a 400.',
        body: RegisterSchema,
        response: { 201: RegisterResponseSchema, ...errorResponses(400, 403, 422) },
      },
    },
    async (request, reply) => {
      const result = await registerUser(deps, request.body);
      return reply.status(201).send(result);
    },
  );

  app.post(
    '/verify-email',
    {
      schema: {
        tags,
        summary: 'Verify an e-mail address',
        description:
          `A token is single-use and expires ${app.config.verificationTokenExpireHours} hours after it was issued. ` +
          'A registration token verifies the account\'s address; the token of an e-mail change (PATCH /users/me) makes ' +
          'the new address the account\'s, verified, unless another account has taken it meanwhile (400 "Email ' +
          'already registered", and the token stays unused).',
        body: VerifyEmailSchema,
        response: { 200: MessageResponseSchema, ...errorResponses(400, 422) },
      },
    },
    async (request) => {
      const userId = await verifyEmail(deps, request.body.token);
      await app.sessionCache.forget([userId]);
      return { message: 'Email verified successfully' };
    },
  );

  app.post(
    '/resend-verification',
    {
      schema: {
        tags,
        summary: 'Send a new verification token',
        description:
          'Always 202 with the same body, whether or not the address is registered, and answered before the address ' +
          'is even looked up (so its timing tells nothing either). An unverified account then gets a fresh token by ' +
          'e-mail; earlier unused tokens stop working.',
        body: ResendVerificationSchema,
        response: { 202: MessageResponseSchema, ...errorResponses(422) },
      },
    },
    async (request, reply) => {
      // The lookup, the new token and the e-mail all happen after the answer has been sent: a registered
      // address and an unknown one take the same time to answer (the work differs only afterwards).
      deps.mailer.deliver(() => resendVerification(deps, request.body.email));
      return reply.status(202).send({ message: RESEND_MESSAGE });
    },
  );

  app.post(
    '/invitations',
    {
      onRequest: app.requireRole('manager'),
      schema: {
        tags,
        security,
        summary: 'Invite a developer by e-mail (manager only)',
        description:
          `E-mails a single-use invitation token valid ${INVITATION_TOKEN_DAYS} days for this address. Registering with it ` +
          '(POST /api/auth/register with `invitation_token` and the same e-mail) creates a verified developer, also when ' +
          'REGISTRATION_ENABLED=false. An address some account already holds is a 400. With the console e-mail backend ' +
          'outside production the token is also returned in the body.',
        body: InvitationCreateSchema,
        response: { 201: InvitationPublicSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request, reply) => reply.status(201).send(await inviteUser(deps, currentUser(request).id, request.body.email)),
  );

  app.post(
    '/password-reset/request',
    {
      schema: {
        tags,
        summary: 'E-mail a password reset token',
        description:
          'Always 200 with the same body, whether or not the address belongs to an account, and answered before the ' +
          'address is even looked up (so its timing tells nothing either). An active account then gets an e-mail with ' +
          `a single-use token valid ${PASSWORD_RESET_TOKEN_HOURS} hour; earlier unused reset tokens stop working. With ` +
          'the console e-mail backend outside production the e-mail (and token) is written to the server log.',
        body: PasswordResetRequestSchema,
        response: { 200: MessageResponseSchema, ...errorResponses(422) },
      },
    },
    async (request) => {
      // As resend-verification: the lookup, the token and the e-mail happen after the answer.
      deps.mailer.deliver(() => requestPasswordReset(deps, request.body.email));
      return { message: PASSWORD_RESET_REQUEST_MESSAGE };
    },
  );

  app.post(
    '/password-reset/confirm',
    {
      schema: {
        tags,
        summary: 'Set a new password with a reset token',
        description:
          'Sets the password of the account the token was e-mailed to and revokes every session of that account ' +
          '(its access tokens stop working at once). 400 when the token is unknown, already used or expired.',
        body: PasswordResetConfirmSchema,
        response: { 200: MessageResponseSchema, ...errorResponses(400, 422) },
      },
    },
    async (request) => {
      const userId = await confirmPasswordReset(deps, request.body);
      await app.sessionCache.forget([userId]);
      app.notifier.sessionsRevoked([userId]);
      return { message: 'Password has been reset; please log in with the new password' };
    },
  );

  app.post(
    '/login',
    {
      schema: {
        tags,
        summary: 'Log in with username or e-mail',
        description:
          'Returns an access token and sets the refresh_token and device_id cookies (HttpOnly, SameSite=Lax, ' +
          `Path=${app.prefix}, Secure outside development). At most ${app.config.maxSessionsPerUser} live sessions per user: ` +
          'the least recently used one is revoked when a login would exceed the limit. Logging in again from a device ' +
          '(same device_id cookie) replaces that device\'s previous session. A refused access token gets a 401 saying why: ' +
          '"Token has expired", "Could not validate credentials" (forged or malformed), "Session has expired", or for a ' +
          'revoked session "Session ended: signed in on too many devices" (the cap), "… signed in again on this device", ' +
          '"… logged out", "… logged out from all devices", "… revoked from another session", "… password changed", ' +
          '"… password reset", "… account deactivated" or "… its refresh token was used twice".',
        body: LoginSchema,
        response: { 200: TokenResponseSchema, ...errorResponses(400, 403, 422) },
      },
    },
    async (request, reply) => tokenBody(await startSession(request, reply, request.body)),
  );

  await app.register(oauthTokenRoutes, { startSession });

  app.post(
    '/refresh',
    {
      schema: {
        tags,
        summary: 'Exchange the refresh cookie for a new access token',
        description:
          'Reads the refresh_token cookie, rotates it (a new cookie is set) and returns a new access token. ' +
          `Presenting a refresh token that was already rotated revokes the whole session, except within ` +
          `${app.config.refreshReuseGraceSeconds} seconds (REFRESH_REUSE_GRACE_SECONDS) of its rotation: then it yields the same ` +
          'new refresh token as that rotation (and an access token for the same session), so that two tabs refreshing ' +
          'at once both stay logged in.',
        response: { 200: TokenResponseSchema, ...errorResponses(400, 403) },
      },
    },
    async (request, reply) => {
      const presented = cookies.refreshToken(request);
      try {
        const issued = await refreshSession(deps, presented);
        cookies.set(reply, issued.refresh.token, issued.deviceId);
        return tokenBody(issued);
      } catch (error) {
        // A replayed token revokes its session (reuse detection): that session's sockets close too.
        if (error instanceof RefreshTokenReused) {
          await app.sessionCache.forget([error.userId]);
          app.notifier.sessionsRevoked([error.userId]);
        }
        throw error;
      }
    },
  );

  app.post(
    '/logout',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: 'Log out of this session',
        description: 'Revokes the current session (its access tokens stop working at once) and clears the cookies.',
        response: { 200: MessageSchema, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      await logout(deps, currentSessionId(request));
      await app.sessionCache.forget([currentUser(request).id]);
      app.notifier.sessionsRevoked([currentUser(request).id]);
      endSession(request, reply);
      return { detail: 'Logged out successfully' };
    },
  );

  app.post(
    '/logout-all',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: 'Log out of every session',
        description: "Revokes all of the caller's sessions on every device and clears the cookies.",
        response: { 200: MessageSchema, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      await logoutAll(deps, currentUser(request).id);
      await app.sessionCache.forget([currentUser(request).id]);
      app.notifier.sessionsRevoked([currentUser(request).id]);
      endSession(request, reply);
      return { detail: 'Logged out from all devices' };
    },
  );

  app.get(
    '/sessions',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: "The caller's live sessions",
        description: 'Sessions that are neither revoked nor expired, most recently used first.',
        response: { 200: Type.Array(SessionPublicSchema), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const sessionId = currentSessionId(request);
      const rows = await listLiveSessions(app.db, currentUser(request).id, app.clock.now().toISOString());
      return rows.map((row) => ({
        ...row,
        created_at: new Date(row.created_at).toISOString(),
        last_used: new Date(row.last_used).toISOString(),
        expires_at: new Date(row.expires_at).toISOString(),
        current: row.id === sessionId,
      }));
    },
  );

  app.delete(
    '/sessions/:id',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: 'Revoke one of the caller\'s sessions',
        description: 'Its access tokens stop working at once. 404 unless it is a live session of the caller.',
        params: IdParamsSchema,
        response: { 204: Type.Null({ description: 'Session revoked' }), ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const revoked = await revokeLiveSessionOfUser(app.db, user.id, request.params.id, app.clock.now().toISOString());
      if (!revoked) throw notFound('Session not found');
      await app.sessionCache.forget([user.id]);
      app.notifier.sessionsRevoked([user.id]);
      if (request.params.id === currentSessionId(request)) endSession(request, reply);
      return reply.status(204).send(null);
    },
  );
}

function client(request: FastifyRequest, deviceId: string | undefined): Client {
  const userAgent = request.headers['user-agent'];
  return {
    deviceId,
    userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null,
    ip: request.ip ? request.ip.slice(0, 64) : null,
  };
}
