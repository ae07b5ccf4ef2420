// OpenAPI 3 document generated from the route schemas, served at /openapi.json and browsable at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

const NOTIFICATIONS_DESCRIPTION = [
  'Notifications of task assignments, reassignments, status changes, deadline warnings and priority escalations. ',
  'Never for your own action.\n\n',
  '**Live socket**: `GET /ws/notifications?token=<access token>` (WebSocket; also with a trailing slash). ',
  'On connect the server sends up to 50 undelivered notifications, oldest first, and marks them delivered; ',
  'then every new one as it happens: `{"type":"notification","notification":{…}}` (the same object as the REST ',
  'routes; at-least-once, so de-duplicate by `id`). Client messages: `{"action":"mark_read","notification_id":n}` ',
  '→ `{"type":"read_confirmation","notification_id":n}` (or `{"type":"error","detail":"Notification not found",',
  '"notification_id":n}`); `{"action":"mark_all_read"}` → `{"type":"all_read_confirmation","updated_count":n}`; ',
  '`{"action":"ping"}` → `{"type":"pong"}`. Anything else (malformed, binary, over 4 KiB, unknown) is ignored, ',
  'and so are read actions beyond 10 a second (bursts of 20); frames over 1 MiB end the connection (1009), text ',
  'that is not UTF-8 too (1007). The server pings every `WS_HEARTBEAT_SECONDS` and drops peers ',
  'that do not answer.\n\n',
  'Close codes: **4001** bad, expired or revoked token, or the session was revoked later (logout, logout-all, ',
  'password change, deactivation, eviction by the device cap) or the access token expired — refresh and ',
  'reconnect; **4003** inactive user or unverified e-mail; **4008** more than `WS_MAX_SOCKETS_PER_USER` open ',
  'sockets; **1001** the server is shutting down — reconnect.',
].join('');

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
        { name: 'comments', description: 'Comments on tasks, with @username mentions' },
        { name: 'tags', description: 'Task tags' },
        { name: 'analytics', description: 'Task statistics' },
        { name: 'notifications', description: NOTIFICATIONS_DESCRIPTION },
        { name: 'audit', description: 'The audit trail of every /api request (managers and auditors)' },
        { name: 'webhooks', description: 'Outgoing webhooks: signed POSTs of task and comment events to your URLs (managers)' },
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
