// Property-based fuzzing (fast-check) of the notification socket's client frames over a real
// connection: random text, random JSON, unknown actions, mark_read with ids that are not ids or
// not the caller's, oversized messages, binary frames and messages split into fragments. Whatever
// arrives: the socket stays open and answers a ping, the only replies are pongs and string-detail
// errors, the database is unchanged, and the server keeps serving. Text that is not UTF-8 is a
// protocol error (RFC 6455 §8.1): that one socket is closed with 1007, nothing else.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertNotifications } from '../../src/modules/notifications/notifications.repository.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { createSession, createUser } from '../helpers/factories.js';
import { databaseState } from '../helpers/fuzz.js';
import { listen, openSocket, socketUrl, type TestSocket } from '../helpers/sockets.js';

let t: TestApp;
let address: string;
let token: string;
/** A notification of another user: a well-formed id the caller may not touch. */
let othersNotification: number;

beforeAll(async () => {
  t = await buildTestApp();
  address = await listen(t.app);
  const owner = await createUser(t.app);
  const other = await createUser(t.app);
  token = (await createSession(t.app, owner)).accessToken;
  const now = new Date().toISOString();
  // The caller's own notifications are delivered already (so the backlog sends nothing) and unread:
  // a junk message that managed to mark one read would show in the database.
  const own = await insertNotifications(t.db, [1, 2, 3].map((i) => ({ userId: owner.id, taskId: null, taskTitle: `T${i}`, message: `m${i}`, type: 'status_change' as const })), now);
  await t.db.updateTable('notifications').set({ is_delivered: true }).where('id', 'in', own.map((n) => n.id)).execute();
  const [theirs] = await insertNotifications(t.db, [{ userId: other.id, taskId: null, taskTitle: 'X', message: 'x', type: 'task_assigned' }], now);
  othersNotification = theirs!.id;
});
afterAll(async () => {
  await t.close();
});

const VALID_ACTIONS = ['mark_read', 'mark_all_read', 'ping'];
const junkAction = fc.oneof(
  fc.constantFrom('PING', ' ping', 'mark_all_read ', 'markAllRead', 'mark-read', 'MARK_READ', 'delete', 'subscribe', '__proto__', '', 'constructor'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.constant(null),
  fc.constant(['ping']),
).filter((action) => !VALID_ACTIONS.includes(action as string));
const badId = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1.5, 2 ** 31, 2 ** 53, 1e300, '0', '01', '1.0', '1e3', ' 1', 'abc', '\u0000', '', null, true, [1], { id: 1 }),
  fc.integer({ max: 0 }),
  fc.double({ noNaN: true }).filter((n) => !Number.isInteger(n)),
  fc.string({ maxLength: 12 }).filter((s) => !/^[1-9][0-9]{0,9}$/.test(s)),
);

type Frame = { kind: 'text'; data: string } | { kind: 'binary'; data: Buffer } | { kind: 'fragments'; parts: string[] };

const text = (data: string): Frame => ({ kind: 'text', data });
const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }).map(text),
  fc.jsonValue({ maxDepth: 3 }).map((v) => text(JSON.stringify(v) ?? 'null')),
  fc.record({ action: junkAction, notification_id: fc.option(badId) }).map((m) => text(JSON.stringify(m))),
  badId.map((id) => text(JSON.stringify({ action: 'mark_read', notification_id: id }))),
  fc.constant(null).map(() => text(JSON.stringify({ action: 'mark_read', notification_id: othersNotification }))),
  fc.constant(null).map(() => text(JSON.stringify({ action: 'mark_read', notification_id: String(othersNotification) }))),
  fc.constant(null).map(() => text(JSON.stringify({ action: 'mark_read', notification_id: 2_000_000_000 }))),
  fc.constantFrom('{"__proto__":{"action":"mark_all_read"}}', '{"action":"mark_all_read","action":"x"}', '{"action":', '\u0000', '[]', '"ping"').map(text),
  // A real action, but over the 4096-byte limit for a client message.
  fc.integer({ min: 4097, max: 200_000 }).map((n) => text(`{"action":"mark_all_read","pad":"${'x'.repeat(n)}"}`)),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ kind: 'binary' as const, data: Buffer.from(bytes) })),
  fc.constantFrom('{"action":"mark_all_read"}', '{"action":"ping"}').map((json) => ({ kind: 'binary' as const, data: Buffer.from(json) })),
  fc.array(fc.string({ maxLength: 30 }), { minLength: 2, maxLength: 4 }).map((parts) => ({ kind: 'fragments' as const, parts })),
);

const sent = (socket: TestSocket, data: string | Buffer, options: { binary?: boolean; fin?: boolean }) =>
  new Promise<void>((resolve, reject) => socket.ws.send(data, options, (error) => (error ? reject(error) : resolve())));

async function sendFrame(socket: TestSocket, f: Frame): Promise<void> {
  if (f.kind === 'text') return sent(socket, f.data, { binary: false });
  if (f.kind === 'binary') return sent(socket, f.data, { binary: true });
  for (const [i, part] of f.parts.entries()) await sent(socket, part, { binary: false, fin: i === f.parts.length - 1 });
}

describe('hostile frames on the notification socket', () => {
  it('keeps the socket open, answers only pongs and string-detail errors, and changes nothing', async () => {
    const socket = await openSocket(socketUrl(address, token));
    await socket.roundTrip();
    let refusals = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 12 }), async (frames) => {
        const before = await databaseState(t.db);
        const seen = socket.messages.length;
        for (const f of frames) await sendFrame(socket, f);
        await socket.roundTrip();
        const label = JSON.stringify(frames).slice(0, 500);
        expect(socket.ws.readyState, label).toBe(socket.ws.OPEN);
        for (const message of socket.messages.slice(seen)) {
          if (message.type === 'pong') continue;
          expect(message, label).toMatchObject({ type: 'error', notification_id: expect.any(Number) });
          expect(typeof message.detail, label).toBe('string');
          refusals += 1;
        }
        expect(await databaseState(t.db), label).toBe(before);
      }),
      { numRuns: 150, endOnFailure: true },
    );
    // The other user's notification was asked for, and refused, along the way.
    expect(refusals).toBeGreaterThan(0);
    await socket.close();
  }, 120_000);

  it('closes only the socket that sends text that is not UTF-8 (1007), and keeps serving', async () => {
    const before = await databaseState(t.db);
    const bystander = await openSocket(socketUrl(address, token));
    await bystander.roundTrip();
    const offender = await openSocket(socketUrl(address, token));
    await offender.roundTrip();
    await sent(offender, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await offender.closed).code).toBe(1007);
    await bystander.roundTrip();
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(await databaseState(t.db)).toBe(before);
    await bystander.close();
  });
});
