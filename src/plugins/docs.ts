// OpenAPI 3 document generated from the route schemas, served at /openapi.json and browsable at /docs.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { WEBHOOKS_DESCRIPTION } from '../modules/webhooks/webhooks.schemas.js';

const NOTIFICATIONS_DESCRIPTION = [
  'Notifications of task assignments, reassignments, status changes, deadline warnings, priority escalations, ',
  'comments on your tasks (`comment_added`) and @mentions (`mentioned`). ',
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

const GETTING_STARTED = [
  'Task management for managers, developers and auditors. Every route answers with and without a trailing slash. ',
  'Errors are `{"detail": "..."}`; validation errors add an `errors` list.\n\n',
  '**Getting started**: run `npx ctms seed-demo` (a demo team: `demo_manager` / `DemoManager123!`, `demo_dev` / ',
  '`DemoDeveloper123!`, `demo_auditor` / `DemoAuditor123!`), then press **Authorize** and log in with a username and ',
  'password (the OAuth2 password form, POST /api/auth/token); the token is kept across reloads of this page. Every ',
  "request body's example works as shown on the demo data (ids 1–7 are the demo's tasks, 1–4 its tags, 2 its developer); ",
  'developers may change tasks only within working hours in their own time zone.',
].join('');

/** The security scheme of the OAuth2 password flow, offered wherever a bearer token is accepted. */
export const PASSWORD_FLOW = 'oauth2Password';
const TOKEN_URL = '/api/auth/token';

type Security = Array<Record<string, string[]>>;

/** A route's schema with the password flow as an alternative to each bearer requirement. */
function offerPasswordFlow<T extends { security?: unknown } | undefined>(schema: T): T {
  const security = schema?.security as Security | undefined;
  if (!Array.isArray(security) || !security.some((requirement) => 'bearerAuth' in requirement)) return schema;
  return { ...schema, security: [...security, { [PASSWORD_FLOW]: [] }] };
}

// The page's own look: a CTMS mark in the top bar and as the favicon, instead of Fastify's.
const MARK =
  '<svg xmlns="http://www.w3.org/2000/svg" width="128" height="40" viewBox="0 0 128 40">' +
  '<rect width="128" height="40" rx="6" fill="#1f4e79"/>' +
  '<text x="64" y="28" font-family="Helvetica, Arial, sans-serif" font-size="22" font-weight="700" fill="#fff" ' +
  'text-anchor="middle" letter-spacing="2">CTMS</text></svg>';
const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="6" fill="#1f4e79"/>' +
  '<text x="16" y="22" font-family="Helvetica, Arial, sans-serif" font-size="14" font-weight="700" fill="#fff" ' +
  'text-anchor="middle">CT</text></svg>';

// Swagger UI persists the whole authorisation in local storage — with the password flow, the
// password too. Loaded before Swagger UI starts (it starts on window load): only tokens are kept.
const KEEP_ONLY_TOKENS = `(function () {
  var setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (key, value) {
    if (key === 'authorized' && this === window.localStorage) {
      try {
        var auths = JSON.parse(value);
        Object.keys(auths).forEach(function (name) { delete auths[name].password; delete auths[name].clientSecret; });
        value = JSON.stringify(auths);
      } catch (error) { /* not ours to judge: stored as given */ }
    }
    return setItem.call(this, key, value);
  };
})();
`;

export async function registerDocs(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: `${config.appName} API`,
        version: config.appVersion,
        description: GETTING_STARTED,
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /login, /token or /refresh' },
          [PASSWORD_FLOW]: {
            type: 'oauth2',
            description: 'Log in with username (or e-mail) and password; the client id and secret are not needed',
            flows: { password: { tokenUrl: TOKEN_URL, scopes: {} } },
          },
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
        { name: 'webhooks', description: WEBHOOKS_DESCRIPTION },
      ],
    },
    transform: ({ schema, url }) => ({ schema: offerPasswordFlow(schema), url }),
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    theme: {
      title: `${config.appName} API — interactive documentation`,
      favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: FAVICON }],
      js: [{ filename: 'keep-only-tokens.js', content: KEEP_ONLY_TOKENS }],
    },
    logo: { type: 'image/svg+xml', content: MARK, href: '/docs' },
    // The token from Authorize is kept in the browser's local storage (never the password), so a reload keeps it.
    uiConfig: { persistAuthorization: true, displayRequestDuration: true },
    // Swagger UI's assets are all served from /docs/static; no upgrade-insecure-requests, so the
    // docs also work over plain HTTP on a LAN address.
    staticCSP:
      "default-src 'self'; base-uri 'self'; font-src 'self' data:; frame-ancestors 'self'; img-src 'self' data:; " +
      "object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'",
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
