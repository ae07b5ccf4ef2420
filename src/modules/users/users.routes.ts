// /api/auth/users: the caller's profile, the user list (scoped by role) and a manager's changes to
// other users.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { currentSessionId, currentUser } from '../../plugins/auth.js';
import { errorResponses } from '../../schemas/common.js';
import { canSeeUser, userListScope } from './users.policy.js';
import { findUserById, listUsers } from './users.repository.js';
import { toUserPublic, UserAdminUpdateSchema, UserIdParamsSchema, UserPublicSchema, UserUpdateMeSchema } from './users.schemas.js';
import { updateOwnProfile, updateUserAsManager, type UsersDeps } from './users.service.js';

const tags = ['auth'];
const security = [{ bearerAuth: [] }];

export async function usersRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const deps: UsersDeps = { db: app.db, config: app.config, clock: app.clock, mailer: app.mailer };

  app.get(
    '/users/me',
    {
      onRequest: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'The caller',
        response: { 200: UserPublicSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => toUserPublic(currentUser(request)),
  );

  app.patch(
    '/users/me',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: "Change the caller's e-mail, timezone or password",
        description:
          'Developers cannot change their timezone (403). A password change needs current_password and new_password ' +
          '(a wrong current password is a 400) and revokes every other session of the user. A new e-mail address ' +
          'does not replace the current one yet: a verification token is e-mailed to the new address (with the ' +
          'console e-mail backend outside production, the server log shows it), and POST /api/auth/verify-email with ' +
          'that token makes it the account\'s address, verified — unless another account has taken it meanwhile (400). ' +
          'Until then this response, login and every other answer show the current address. The pending address ' +
          'is not reserved: anyone may still register or claim it, so nobody can block its owner by asking for it ' +
          'first. A new request replaces the pending one; an address equal to any account\'s e-mail or username ' +
          'is a 400 at once. The current address in other letter case is applied at once.',
        body: UserUpdateMeSchema,
        response: { 200: UserPublicSchema, ...errorResponses(400, 401, 403, 422) },
      },
    },
    async (request) => {
      const updated = await updateOwnProfile(deps, currentUser(request), currentSessionId(request), request.body);
      await app.sessionCache.forget([updated.id]);
      // A password change revoked the user's other sessions.
      if (request.body.new_password !== undefined) app.notifier.sessionsRevoked([updated.id]);
      return toUserPublic(updated);
    },
  );

  app.get(
    '/users',
    {
      onRequest: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'List users',
        description: 'A manager sees developers and themselves, a developer themselves, an auditor everyone; ordered by id.',
        response: { 200: Type.Array(UserPublicSchema), ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const users = await listUsers(app.db, userListScope(currentUser(request)));
      return users.map(toUserPublic);
    },
  );

  app.get(
    '/users/:id',
    {
      onRequest: app.requireUser,
      schema: {
        tags,
        security,
        summary: 'One user',
        description: 'Visible under the same rules as the list; any other id answers 404.',
        params: UserIdParamsSchema,
        response: { 200: UserPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const actor = currentUser(request);
      const target = await findUserById(app.db, request.params.id);
      if (!target || !canSeeUser(actor, target)) throw notFound('User not found');
      return toUserPublic(target);
    },
  );

  app.patch(
    '/users/:id',
    {
      onRequest: app.requireRole('manager'),
      schema: {
        tags,
        security,
        summary: "Change a user's role, active flag or (a developer's) timezone",
        description:
          'Managers only. A manager cannot change their own role or deactivate themselves; only a developer\'s timezone ' +
          'can be set here. Deactivating a user revokes all of their sessions at once. Users the manager cannot see ' +
          '(other managers, auditors) answer 404, as in the list.',
        params: UserIdParamsSchema,
        body: UserAdminUpdateSchema,
        response: { 200: UserPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request) => {
      const updated = await updateUserAsManager(deps, currentUser(request), request.params.id, request.body);
      await app.sessionCache.forget([updated.id]);
      // Deactivation revoked every session of the user.
      if (request.body.is_active === false) app.notifier.sessionsRevoked([updated.id]);
      return toUserPublic(updated);
    },
  );
}
