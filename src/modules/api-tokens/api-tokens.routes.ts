// /api/auth/tokens: a signed-in user's personal API tokens (§12). Managing tokens needs a login
// session (app.requireSession); a token cannot list, create or revoke tokens.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { notFound } from '../../errors.js';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses, IdParamsSchema } from '../../schemas/common.js';
import { listApiTokens, revokeApiToken, type ApiTokenRow } from './api-tokens.repository.js';
import { ApiTokenCreatedSchema, ApiTokenCreateSchema, ApiTokenSchema } from './api-tokens.schemas.js';
import { createApiToken, MAX_API_TOKENS_PER_USER } from './api-tokens.service.js';

const tags = ['auth'];
const security = [{ bearerAuth: [] }];

const publicToken = (row: ApiTokenRow) => ({
  id: row.id,
  name: row.name,
  scope: row.scope,
  created_at: new Date(row.created_at).toISOString(),
  last_used_at: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
  expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
});

export async function apiTokensRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: "The caller's personal API tokens",
        description: 'Tokens not revoked (expired ones included), newest first. The token values themselves are never shown again.',
        response: { 200: Type.Array(ApiTokenSchema), ...errorResponses(401, 403) },
      },
    },
    async (request) => (await listApiTokens(app.db, currentUser(request).id)).map(publicToken),
  );

  app.post(
    '/',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: 'Create a personal API token',
        description:
          'For scripts: send it as `Authorization: Bearer <token>`. It acts as you, with your current role; a `read` token ' +
          'may only make GET requests (403 otherwise). The token is in this response only; it is stored as a hash. ' +
          `At most ${MAX_API_TOKENS_PER_USER} per user (409). Needs a signed-in session: a token cannot create tokens.`,
        body: ApiTokenCreateSchema,
        response: { 201: ApiTokenCreatedSchema, ...errorResponses(401, 403, 409, 422) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const created = await createApiToken(app, user, request.body);
      return reply.status(201).send({ ...publicToken(created), token: created.token });
    },
  );

  app.delete(
    '/:id',
    {
      onRequest: app.requireSession,
      schema: {
        tags,
        security,
        summary: 'Revoke one of your personal API tokens',
        description: 'It stops working on the next request, on every instance. 404 unless it is a live token of the caller.',
        params: IdParamsSchema,
        response: { 204: Type.Null({ description: 'Token revoked' }), ...errorResponses(401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const user = currentUser(request);
      const revoked = await revokeApiToken(app.db, user.id, request.params.id, app.clock.now().toISOString());
      if (!revoked) throw notFound('API token not found');
      return reply.status(204).send(null);
    },
  );
}
