// The refresh_token and device_id cookies: HttpOnly, SameSite=Lax, Secure outside development,
// Max-Age = refresh lifetime, and scoped to the auth routes' path (/api/auth): the browser sends
// the refresh token only to the endpoints that use it (refresh, login, logout), never to the rest
// of the API.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { Config } from '../../config.js';
import { refreshLifetimeSeconds } from './tokens.js';

export const REFRESH_COOKIE = 'refresh_token';
export const DEVICE_COOKIE = 'device_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SessionCookies {
  set(reply: FastifyReply, refreshToken: string, deviceId: string): void;
  clear(reply: FastifyReply): void;
  refreshToken(request: FastifyRequest): string | undefined;
  /** The device id of a well-formed device_id cookie (lowercased), else undefined. */
  deviceId(request: FastifyRequest): string | undefined;
}

export function sessionCookies(config: Config, path: string): SessionCookies {
  const base: CookieSerializeOptions = {
    httpOnly: true,
    sameSite: 'lax',
    secure: config.environment !== 'development',
    path: path || '/',
  };
  return {
    set(reply, refreshToken, deviceId) {
      const options = { ...base, maxAge: refreshLifetimeSeconds(config) };
      reply.setCookie(REFRESH_COOKIE, refreshToken, options);
      reply.setCookie(DEVICE_COOKIE, deviceId, options);
    },
    clear(reply) {
      reply.clearCookie(REFRESH_COOKIE, base);
      reply.clearCookie(DEVICE_COOKIE, base);
    },
    refreshToken(request) {
      const value = request.cookies[REFRESH_COOKIE];
      return value ? value : undefined;
    },
    deviceId(request) {
      const value = request.cookies[DEVICE_COOKIE];
      return value && UUID.test(value) ? value.toLowerCase() : undefined;
    },
  };
}
