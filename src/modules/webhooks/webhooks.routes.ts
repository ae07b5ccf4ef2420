// /api/webhooks (§12): managers subscribe URLs to task and comment events and read each webhook's
// delivery log. The signing key is generated here, shown in the creation answer only, and stored
// encrypted. Deliveries themselves are queued by the changes (webhook-events.ts) and sent by the
// delivery worker (delivery-worker.ts).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { invalid, notFound } from '../../errors.js';
import { currentUser } from '../../plugins/auth.js';
import { errorResponses } from '../../schemas/common.js';
import { checkWebhookUrl, WebhookTargetError } from './address-policy.js';
import { encryptWebhookSecret, generateWebhookSecret } from './secrets.js';
import type { WebhookEventName } from './webhook-events.js';
import { deleteWebhook, findWebhook, insertWebhook, listDeliveries, listWebhooks, updateWebhook } from './webhooks.repository.js';
import {
  DELIVERIES_PAGE_DEFAULT,
  DeliveriesQuerySchema,
  WebhookCreatedSchema,
  WebhookCreateSchema,
  WebhookDeliverySchema,
  WebhookIdParamsSchema,
  WebhookPublicSchema,
  WebhookUpdateSchema,
} from './webhooks.schemas.js';

const TAGS = ['webhooks'];
const security = [{ bearerAuth: [] }];
const WEBHOOK_NOT_FOUND = 'Webhook not found';

const DELIVERY_FORMAT =
  'Each delivery is a POST with a JSON body `{"event", "delivered_at", "data"}` (`delivered_at`: when the change ' +
  'was made; every attempt sends the same bytes) and the headers `X-CTMS-Event`, ' +
  '`X-CTMS-Delivery` (a UUID, the same on every attempt: use it to ignore repeats) and ' +
  '`X-CTMS-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>`. `data` is `{"task"}` for ' +
  'task.created and task.deleted, `{"task", "changes"}` (changed field names) for task.updated, `{"task", "from", ' +
  '"to"}` for task.status_changed, and `{"comment"}` for comment.created. Deliveries are queued in the same ' +
  'transaction as the change (nothing is sent for a change that did not commit), sent after it by a background ' +
  'worker, retried on a network error, a timeout (WEBHOOK_TIMEOUT_MS) or any non-2xx answer — redirects are not ' +
  'followed — with exponential backoff and jitter, up to WEBHOOK_MAX_ATTEMPTS attempts.';

async function checkedUrl(raw: string, allowPrivate: boolean): Promise<string> {
  try {
    return await checkWebhookUrl(raw, allowPrivate);
  } catch (error) {
    if (error instanceof WebhookTargetError) throw invalid(['body', 'url'], error.message);
    throw error;
  }
}

const distinct = (events: readonly WebhookEventName[]) => [...new Set(events)];

export async function webhooksRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const managers = app.requireRole('manager');

  app.get(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'List webhooks',
        description: 'Managers only. Every webhook, oldest first; the signing keys are never shown again.',
        response: { 200: Type.Array(WebhookPublicSchema), ...errorResponses(401, 403) },
      },
      onRequest: managers,
    },
    async () => listWebhooks(app.db),
  );

  app.post(
    '',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Create a webhook',
        description: `Managers only. The answer alone carries \`secret\`, the signing key: keep it. ${DELIVERY_FORMAT}`,
        body: WebhookCreateSchema,
        response: { 201: WebhookCreatedSchema, ...errorResponses(401, 403, 422) },
      },
      onRequest: managers,
    },
    async (request, reply) => {
      const url = await checkedUrl(request.body.url, app.config.webhookAllowPrivate);
      const secret = generateWebhookSecret();
      const webhook = await insertWebhook(app.db, {
        url,
        events: distinct(request.body.events),
        secret: encryptWebhookSecret(secret, app.config.secretKey),
        createdBy: currentUser(request).id,
        now: app.clock.now().toISOString(),
      });
      return reply.status(201).send({ ...webhook, secret });
    },
  );

  app.get(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Read a webhook',
        description: 'Managers only.',
        params: WebhookIdParamsSchema,
        response: { 200: WebhookPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: managers,
    },
    async (request) => {
      const webhook = await findWebhook(app.db, request.params.id);
      if (!webhook) throw notFound(WEBHOOK_NOT_FOUND);
      return webhook;
    },
  );

  app.patch(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Update a webhook (partial)',
        description: 'Managers only. A new `url` is checked as at creation; `active: false` pauses the webhook.',
        params: WebhookIdParamsSchema,
        body: WebhookUpdateSchema,
        response: { 200: WebhookPublicSchema, ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: managers,
    },
    async (request) => {
      const { url, events, active } = request.body;
      const changes = {
        url: url === undefined ? undefined : await checkedUrl(url, app.config.webhookAllowPrivate),
        events: events === undefined ? undefined : distinct(events),
        active,
      };
      const webhook = await updateWebhook(app.db, request.params.id, changes, app.clock.now().toISOString());
      if (!webhook) throw notFound(WEBHOOK_NOT_FOUND);
      return webhook;
    },
  );

  app.delete(
    '/:id',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Delete a webhook',
        description: 'Managers only. Its queued deliveries and its delivery log go with it.',
        params: WebhookIdParamsSchema,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: managers,
    },
    async (request, reply) => {
      if (!(await deleteWebhook(app.db, request.params.id))) throw notFound(WEBHOOK_NOT_FOUND);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/:id/deliveries',
    {
      schema: {
        tags: TAGS,
        security,
        summary: 'Delivery log of a webhook',
        description:
          `Managers only. The most recent deliveries first (\`limit\` 1–200, default ${DELIVERIES_PAGE_DEFAULT}), each with ` +
          'its state, the number of attempts made, the last attempt’s status code or error and duration, and when ' +
          'the next retry is due.',
        params: WebhookIdParamsSchema,
        querystring: DeliveriesQuerySchema,
        response: { 200: Type.Array(WebhookDeliverySchema), ...errorResponses(401, 403, 404, 422) },
      },
      onRequest: managers,
    },
    async (request) => {
      if (!(await findWebhook(app.db, request.params.id))) throw notFound(WEBHOOK_NOT_FOUND);
      return listDeliveries(app.db, request.params.id, request.query.limit ?? DELIVERIES_PAGE_DEFAULT);
    },
  );
}
