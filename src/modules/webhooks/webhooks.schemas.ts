// Request and response shapes of /api/webhooks (§12).
import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, MAX_ID } from '../../schemas/common.js';
import { WEBHOOK_URL_MAX_LENGTH } from './address-policy.js';
import { WEBHOOK_EVENTS } from './webhook-events.js';

/** The "webhooks" tag of the OpenAPI document: what a receiver gets, and how it checks it. */
export const WEBHOOKS_DESCRIPTION = [
  'Managers subscribe URLs to task and comment events. Each delivery is a POST of `{"event", "delivered_at", "data"}` ',
  'with `X-CTMS-Event`, `X-CTMS-Delivery` (a UUID, the same on retries) and `X-CTMS-Signature: sha256=<hex HMAC-SHA256 ',
  'of the raw body with the secret>`; answer any 2xx. A receiver checks the signature before trusting the body:\n\n',
  '```js\n',
  "const expected = Buffer.from('sha256=' + crypto.createHmac('sha256', secret).update(rawBody).digest('hex'));\n",
  "const given = Buffer.from(req.headers['x-ctms-signature'] ?? '');\n",
  'const valid = given.length === expected.length && crypto.timingSafeEqual(given, expected);\n',
  '```',
].join('');

export const WebhookEventSchema = Type.Union(
  WEBHOOK_EVENTS.map((event) => Type.Literal(event)),
  { description: 'An event a webhook can subscribe to' },
);

const UrlSchema = Type.String({
  minLength: 1,
  maxLength: WEBHOOK_URL_MAX_LENGTH,
  description:
    'An absolute http(s) URL without credentials. Unless WEBHOOK_ALLOW_PRIVATE=true, its host must resolve only to ' +
    'public addresses (private, loopback, link-local, CGNAT and reserved ranges, in IPv4 and IPv6 forms, answer 422); ' +
    'this is checked again at every delivery.',
});
const EventsSchema = Type.Array(WebhookEventSchema, { minItems: 1, maxItems: 20, description: 'At least one event; duplicates are ignored' });

export const WebhookCreateSchema = Type.Object(
  { url: UrlSchema, events: EventsSchema },
  { examples: [{ url: 'https://93.184.215.14/ctms/webhook', events: ['task.created', 'task.status_changed'] }] },
);
export type WebhookCreate = Static<typeof WebhookCreateSchema>;

export const WebhookUpdateSchema = Type.Object(
  {
    url: Type.Optional(UrlSchema),
    events: Type.Optional(EventsSchema),
    active: Type.Optional(Type.Boolean({ description: 'false pauses deliveries; queued ones are marked failed when their turn comes' })),
  },
  { description: 'Only the fields sent change', examples: [{ events: ['task.created', 'task.updated', 'comment.created'], active: true }] },
);

/** `{id}` of a webhook; the example is the first one created. */
export const WebhookIdParamsSchema = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: MAX_ID, description: 'Webhook id', examples: [1] }),
});
export type WebhookUpdate = Static<typeof WebhookUpdateSchema>;

export const WebhookPublicSchema = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  events: Type.Array(WebhookEventSchema),
  active: Type.Boolean(),
  created_at: DateTimeSchema,
});
export type WebhookPublic = Static<typeof WebhookPublicSchema>;

export const WebhookCreatedSchema = Type.Composite([
  WebhookPublicSchema,
  Type.Object({
    secret: Type.String({
      description: 'The signing key, shown in this answer only: X-CTMS-Signature is sha256=<hex HMAC-SHA256 of the raw body with it>',
    }),
  }),
]);

export const DeliveryStateSchema = Type.Union(
  [Type.Literal('pending'), Type.Literal('delivering'), Type.Literal('succeeded'), Type.Literal('failed')],
  { description: 'pending: waiting for its (next) attempt; delivering: being sent; succeeded; failed: out of attempts or webhook inactive' },
);

export const WebhookDeliverySchema = Type.Object({
  id: Type.Integer(),
  delivery_id: Type.String({ description: 'Sent as X-CTMS-Delivery; the same on every attempt' }),
  event: WebhookEventSchema,
  state: DeliveryStateSchema,
  attempt: Type.Integer({ description: 'Attempts made so far (the fields below describe the last one)' }),
  status_code: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status, null when none came" }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why the attempt failed without (or besides) a status' }),
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  created_at: DateTimeSchema,
  last_attempt_at: Type.Union([DateTimeSchema, Type.Null()]),
  next_attempt_at: Type.Union([DateTimeSchema, Type.Null()], { description: 'When the next attempt is due; null once succeeded or failed' }),
});
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;

export const DELIVERIES_PAGE_DEFAULT = 50;
export const DeliveriesQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: DELIVERIES_PAGE_DEFAULT, description: '1–200' })),
});
