// OpenAPI 3 document generated from the route schemas, served at /openapi.json and browsable at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

export async function registerDocs(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: `${config.appName} API`,
        version: config.appVersion,
        description:
          'Task management for managers, developers and auditors. Every route answers with and without a ' +
          'trailing slash. Errors are `{"detail": "..."}`; validation errors add an `errors` list.',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
      tags: [
        { name: 'service', description: 'Health and discovery' },
        { name: 'auth', description: 'Registration, login, sessions and users' },
        { name: 'tasks', description: 'Tasks, subtasks, history and bulk updates' },
        { name: 'tags', description: 'Task tags' },
        { name: 'analytics', description: 'Task statistics' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's assets are all served from /docs/static; no upgrade-insecure-requests, so the
    // docs also work over plain HTTP on a LAN address.
    staticCSP:
      "default-src 'self'; base-uri 'self'; font-src 'self' data:; frame-ancestors 'self'; img-src 'self' data:; " +
      "object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'",
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
