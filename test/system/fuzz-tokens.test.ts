// Property-based fuzzing (fast-check) of the tokens: access and refresh JWTs built from a genuine
// token's claims with one to three defects — another algorithm (`none`, HS512, RS256, lowercase,
// missing), the wrong key, a flipped signature, a payload changed after signing, expired, not yet
// valid, the wrong `type` (a refresh token used as an access token and the reverse), missing or
// mistyped claims, another user's or an unknown session, a huge token. As a Bearer token on the
// protected routes: 401 with a string detail and `WWW-Authenticate: Bearer`; as the refresh cookie:
// 400 with a string detail and no new tokens; on the notification socket: closed with 4001. In
// every case the database is left as it was.
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { craftJwt, setCookieLines } from '../helpers/auth.js';
import { createSession, createUser, type TestSession, type TestUser } from '../helpers/factories.js';
import { checkAnswer, databaseState } from '../helpers/fuzz.js';
import { listen, openSocket, socketUrl } from '../helpers/sockets.js';
import { createTask } from '../helpers/tasks.js';

let t: TestApp;
let manager: TestUser;
let developer: TestUser;
let session: TestSession;
let taskId: number;

beforeAll(async () => {
  t = await buildTestApp();
  manager = await createUser(t.app, { role: 'manager' });
  developer = await createUser(t.app, { role: 'developer' });
  session = await createSession(t.app, manager);
  await createSession(t.app, developer);
  taskId = await createTask(t.db, { assignedTo: developer.id, createdBy: manager.id });
});
afterAll(async () => {
  await t.close();
});

const DEFECTS = [
  'algorithm',
  'wrong key',
  'flipped signature',
  'payload changed after signing',
  'expired',
  'not yet valid',
  'type',
  'missing claim',
  'mistyped claim',
  'another user',
  'unknown session',
  'huge',
] as const;
type Defect = (typeof DEFECTS)[number];

interface Forgery {
  defects: Defect[];
  /** Picks among each defect's variants. */
  choice: number;
  /** A token of this type, before the defects. */
  kind: 'access' | 'refresh';
}

const pickFrom = <T>(items: readonly T[], choice: number): T => items[choice % items.length] as T;

/** A token with the claims the app would issue for the manager's session, spoiled by every defect. */
function forge({ defects, choice, kind }: Forgery): string {
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' };
  const payload: Record<string, unknown> = { sub: String(manager.id), sid: session.sessionId, jti: randomUUID(), type: kind, iat: now, exp: now + 600 };
  let secret: string | null = t.config.secretKey;
  const has = (d: Defect) => defects.includes(d);
  if (has('algorithm')) {
    const alg = pickFrom<unknown>(['none', 'HS512', 'RS256', 'hs256', '', null, ['HS256'], undefined], choice);
    if (alg === undefined) delete header.alg;
    else header.alg = alg;
    if (alg === 'none' && choice % 2 === 0) secret = null;
  }
  if (has('wrong key')) secret = randomBytes(32).toString('hex');
  if (has('expired')) payload.exp = now - pickFrom([0, 1, 3600, 10 ** 9], choice);
  if (has('not yet valid')) payload.nbf = now + pickFrom([60, 3600, 10 ** 9], choice);
  if (has('type')) {
    const other = pickFrom<unknown>([kind === 'access' ? 'refresh' : 'access', kind.toUpperCase(), `${kind} `, '', null, 1, [kind], undefined], choice);
    if (other === undefined) delete payload.type;
    else payload.type = other;
  }
  if (has('missing claim')) delete payload[pickFrom(['sub', 'sid', 'jti', 'iat', 'exp'], choice)];
  if (has('mistyped claim')) {
    const [claim, value] = pickFrom<[string, unknown]>(
      [['sub', manager.id], ['sub', '0'], ['sub', ` ${manager.id}`], ['sub', `${manager.id}.0`], ['sub', '99999999999'], ['sid', String(session.sessionId)],
       ['sid', 1.5], ['sid', 0], ['sid', -1], ['sid', null], ['sid', 2 ** 53], ['jti', 1], ['iat', 'now'], ['exp', String(now + 600)]],
      choice,
    );
    payload[claim] = value;
  }
  if (has('another user')) payload.sub = String(developer.id);
  if (has('unknown session')) payload.sid = 2_000_000_000;
  if (has('huge')) payload.pad = 'x'.repeat(pickFrom([4000, 8000], choice));
  let token = craftJwt(header, payload, secret);
  const [h = '', p = '', s = ''] = token.split('.');
  if (has('flipped signature')) {
    const at = choice % Math.max(1, s.length);
    token = `${h}.${p}.${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
  }
  if (has('payload changed after signing')) {
    const changed = { ...payload, sub: String(developer.id), role: 'manager' };
    token = `${h}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${s}`;
  }
  return token;
}

const forgery = (kind: 'access' | 'refresh') =>
  fc.record({ defects: fc.subarray([...DEFECTS], { minLength: 1, maxLength: 3 }), choice: fc.nat(1000), kind: fc.constant(kind) });

/** Protected requests a valid manager token would be allowed to make. */
const protectedRequests = () => [
  { method: 'GET', url: '/api/auth/users/me' },
  { method: 'GET', url: '/api/tasks?limit=5' },
  { method: 'PATCH', url: `/api/tasks/${taskId}`, payload: { status: 'completed' } },
  { method: 'POST', url: '/api/tasks/bulk-update', payload: { task_ids: [taskId], status: 'blocked' } },
  { method: 'DELETE', url: `/api/tasks/${taskId}` },
  { method: 'POST', url: '/api/auth/logout' },
  { method: 'POST', url: '/api/auth/logout-all' },
  { method: 'POST', url: '/api/notifications/mark_all_read' },
  { method: 'DELETE', url: `/api/auth/sessions/${session.sessionId}` },
  { method: 'PATCH', url: `/api/auth/users/${developer.id}`, payload: { role: 'manager' } },
] as const;

describe('forged and spoiled tokens', () => {
  it('lets the genuine token through (the control case)', async () => {
    const genuine = craftJwt({ alg: 'HS256', typ: 'JWT' }, JSON.parse(Buffer.from(session.accessToken.split('.')[1]!, 'base64url').toString()), t.config.secretKey);
    const res = await t.app.inject({ method: 'GET', url: '/api/auth/users/me', headers: { authorization: `Bearer ${genuine}` } });
    expect(res.statusCode).toBe(200);
    expect(forge({ defects: [], choice: 0, kind: 'access' }).length).toBeGreaterThan(100);
    const control = await t.app.inject({ method: 'GET', url: '/api/auth/users/me', headers: { authorization: `Bearer ${forge({ defects: [], choice: 0, kind: 'access' })}` } });
    expect(control.statusCode).toBe(200);
  });

  it('refuses a spoiled access token on every protected route with 401 and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(forgery('access'), fc.nat(100), async (forged, which) => {
        const request = pickFrom(protectedRequests(), which);
        const token = forge(forged);
        const before = await databaseState(t.db);
        const res = await t.app.inject({ ...request, headers: { authorization: `Bearer ${token}` } });
        const label = `${forged.defects.join(', ')} (${forged.choice}) on ${request.method} ${request.url} → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, label).toBe(401);
        expect(checkAnswer(res, label)).toBeNull();
        expect(res.headers['www-authenticate'], label).toBe('Bearer');
        expect(await databaseState(t.db), label).toBe(before);
      }),
      { numRuns: 300, endOnFailure: true },
    );
  }, 120_000);

  it('refuses a spoiled refresh cookie with 400, issues no token and changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(forgery('refresh'), fc.boolean(), async (forged, withDevice) => {
        const token = forge(forged);
        const before = await databaseState(t.db);
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/auth/refresh',
          cookies: { refresh_token: token, ...(withDevice ? { device_id: randomUUID() } : {}) },
        });
        const label = `${forged.defects.join(', ')} (${forged.choice}) → ${res.statusCode} ${res.body.slice(0, 200)}`;
        expect(res.statusCode, label).toBe(400);
        expect(checkAnswer(res, label)).toBeNull();
        expect(res.body, label).not.toContain('access');
        expect(setCookieLines(res).filter((line) => /^refresh_token=[^;]+/.test(line)), label).toEqual([]);
        expect(await databaseState(t.db), label).toBe(before);
      }),
      { numRuns: 200, endOnFailure: true },
    );
  }, 120_000);

  it('refuses an access token as the refresh cookie, and a refresh token as a Bearer token', async () => {
    const refresh = await t.app.inject({ method: 'POST', url: '/api/auth/refresh', cookies: { refresh_token: session.accessToken } });
    expect(refresh.statusCode).toBe(400);
    expect(refresh.json()).toEqual({ detail: 'Invalid or expired refresh token' });
    const me = await t.app.inject({ method: 'GET', url: '/api/auth/users/me', headers: { authorization: `Bearer ${session.refreshToken}` } });
    expect(me.statusCode).toBe(401);
    expect(me.json()).toEqual({ detail: 'Could not validate credentials' });
  });

  describe('on the notification socket', () => {
    let address: string;
    beforeAll(async () => {
      address = await listen(t.app);
    });

    it('closes with 4001 for a spoiled token, sending nothing', async () => {
      await fc.assert(
        fc.asyncProperty(forgery('access'), async (forged) => {
          const before = await databaseState(t.db);
          const socket = await openSocket(socketUrl(address, forge(forged)));
          const closed = await socket.closed;
          const label = `${forged.defects.join(', ')} (${forged.choice}) → ${closed.code} ${closed.reason}`;
          expect(closed.code, label).toBe(4001);
          expect(socket.messages, label).toEqual([]);
          expect(await databaseState(t.db), label).toBe(before);
        }),
        { numRuns: 60, endOnFailure: true },
      );
      // Still serving, and the genuine token still works.
      const genuine = await openSocket(socketUrl(address, session.accessToken));
      await genuine.roundTrip();
      await genuine.close();
    }, 120_000);
  });
});
