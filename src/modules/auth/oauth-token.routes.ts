// POST /api/auth/token: the OAuth2 password flow (RFC 6749 §4.3) that /docs' Authorize button
// speaks, as FastAPI's OAuth2PasswordRequestForm does. A login in every respect — the same rate
// limits, the same checks, a device session and its cookies — answering in OAuth2's words. It is
// registered in its own context: the only one in the API that reads form bodies.
import formbody from '@fastify/formbody';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, invalid } from '../../errors.js';
import { findNul, NUL_MESSAGE } from '../../plugins/json-body.js';
import { errorResponses } from '../../schemas/common.js';
import { OAuthTokenResponseSchema, TokenFormSchema, type Login } from './auth.schemas.js';
import type { IssuedSession } from './auth.service.js';

export interface OAuthTokenOptions {
  /** Login's own work: checks the credentials, starts a device session and sets its cookies. */
  startSession(request: FastifyRequest, reply: FastifyReply, credentials: Login): Promise<IssuedSession>;
}

export const FORM_ONLY = 'Unsupported media type: send application/x-www-form-urlencoded (JSON clients use POST /api/auth/login)';
const FORM_LIMIT_BYTES = 4096;

export async function oauthTokenRoutes(fastify: FastifyInstance, options: OAuthTokenOptions): Promise<void> {
  // This context reads forms and nothing else; the rest of the API keeps reading JSON only.
  fastify.removeAllContentTypeParsers();
  await fastify.register(formbody, { bodyLimit: FORM_LIMIT_BYTES });
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(new AppError(415, FORM_ONLY), undefined));
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/token',
    {
      schema: {
        tags: ['auth'],
        summary: 'Log in with a form (OAuth2 password flow)',
        description:
          "For OAuth2 clients and this page's **Authorize** button: the form fields `username` (or e-mail) and `password` " +
          '(`grant_type=password`, `scope`, `client_id` and `client_secret` are accepted and ignored). Everything else is ' +
          'POST /api/auth/login: the same checks and answers (400 "Incorrect username or password", 403 "Email not ' +
          'verified" / "Inactive user"), a new device session counted against the session cap, and the refresh_token and ' +
          'device_id cookies (the refresh token is never in the body). JSON is a 415: JSON clients use /login.',
        consumes: ['application/x-www-form-urlencoded'],
        body: TokenFormSchema,
        response: { 200: OAuthTokenResponseSchema, ...errorResponses(400, 403, 415, 422) },
      },
      // JSON bodies are checked for NUL characters by their parser; a form's %00 is caught here.
      preValidation: async (request) => {
        const nulAt = findNul(request.body);
        if (nulAt) throw invalid(['body', ...nulAt], NUL_MESSAGE);
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const issued = await options.startSession(request, reply, { username, password });
      return { access_token: issued.access.token, token_type: 'bearer' as const, expires_in: issued.access.expiresIn };
    },
  );
}
