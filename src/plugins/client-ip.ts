// The client's address (request.ip: rate limits, session records, the audit trail) and TRUST_PROXY.
// Off, it is the socket's peer and X-Forwarded-For is ignored, so nobody can choose the address the
// service sees. A list of proxy addresses believes X-Forwarded-For only from those peers (the
// safest setting behind a proxy); a hop count believes the last N hops; true believes any peer.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import type { TrustProxy } from '../config.js';

/** Fastify's `trustProxy` for the setting. */
export function trustProxyOption(setting: TrustProxy): FastifyServerOptions['trustProxy'] {
  if (typeof setting !== 'number') return setting;
  // Fastify refuses a bare hop count (it cannot check the peer): spell out the usual meaning — the
  // peer and the next `setting - 1` addresses it reports are proxies, the one before them the client.
  return (_address, hop) => hop < setting;
}

/** Settings that believe a peer the service cannot check deserve a line in the log at start. */
export function warnAboutTrustProxy(setting: TrustProxy, log: FastifyBaseLogger): void {
  if (setting === true) {
    log.warn('TRUST_PROXY=true believes X-Forwarded-For from any peer: only safe behind a proxy that overwrites it; prefer its address');
  } else if (typeof setting === 'number') {
    log.info(`TRUST_PROXY=${setting}: the API port must be reachable only through the proxies, or clients choose their address`);
  }
}
