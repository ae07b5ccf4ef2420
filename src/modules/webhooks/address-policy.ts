// Where webhooks may point (SSRF protection). Unless WEBHOOK_ALLOW_PRIVATE=true, a target must be
// http(s), carry no credentials, and every address its host resolves to must be public: private,
// loopback, link-local, CGNAT, unspecified, multicast and reserved ranges are refused, in IPv4, in
// IPv6, and in IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4). The URL is
// checked when a webhook is saved, and again at every delivery by the connection's own DNS lookup
// (guardedLookup), so a name that later resolves elsewhere (DNS rebinding) is refused too.
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

export const WEBHOOK_URL_MAX_LENGTH = 2048;

const BLOCKED = new BlockList();
const BLOCKED_IPV4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const BLOCKED_IPV6: Array<[string, number]> = [
  ['::', 96], // unspecified, loopback (::1) and the deprecated IPv4-compatible form
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];
for (const [network, prefix] of BLOCKED_IPV4) BLOCKED.addSubnet(network, prefix, 'ipv4');
// BlockList also matches IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) against the IPv4 subnets.
for (const [network, prefix] of BLOCKED_IPV6) BLOCKED.addSubnet(network, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (zone id ignored), or undefined if it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups written another way.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest, ...extra] = text.split('::');
  if (extra.length > 0) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => (/^[0-9a-f]{1,4}$/i.test(group) ? parseInt(group, 16) : NaN)));
  const front = parse(head);
  const back = parse(rest ?? '');
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (rest === undefined && missing !== 0)) return undefined;
  const groups = [...front, ...new Array<number>(missing).fill(0), ...back];
  return groups.every((group) => Number.isInteger(group)) ? groups : undefined;
}

const ipv4From = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** The IPv4 address an IPv6 NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address leads to. */
function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return ipv4From(g[6] ?? 0, g[7] ?? 0);
  if (g[0] === 0x2002) return ipv4From(g[1] ?? 0, g[2] ?? 0);
  return undefined;
}

/** Whether a webhook may connect to this IP address when private targets are not allowed. */
export function isForbiddenAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  const version = isIP(bare);
  if (version === 4) return BLOCKED.check(bare, 'ipv4');
  if (version !== 6) return true;
  if (BLOCKED.check(bare, 'ipv6')) return true;
  const embedded = embeddedIPv4(bare);
  return embedded !== undefined && BLOCKED.check(embedded, 'ipv4');
}

export class WebhookTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

const refusal = (host: string, address: string) =>
  new WebhookTargetError(
    host === address
      ? `url points at a private, loopback, link-local or reserved address (${address})`
      : `url host ${host} resolves to a private, loopback, link-local or reserved address (${address})`,
  );

/** The URL's shape: absolute http(s), a host, no credentials. Throws WebhookTargetError. */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > WEBHOOK_URL_MAX_LENGTH) throw new WebhookTargetError(`url must be at most ${WEBHOOK_URL_MAX_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new WebhookTargetError('url is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookTargetError('url must use http or https');
  if (url.hostname === '') throw new WebhookTargetError('url must name a host');
  if (url.username !== '' || url.password !== '') throw new WebhookTargetError('url must not contain credentials');
  return url;
}

const bareHost = (url: URL) => url.hostname.replace(/^\[|\]$/g, '');

/** Every address of `host` (an IP literal is its own only address). */
async function resolveAll(host: string): Promise<LookupAddress[]> {
  const version = isIP(host);
  if (version !== 0) return [{ address: host, family: version }];
  return new Promise((resolve, reject) => {
    dnsLookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/**
 * A URL as it may be saved: well formed and, unless private targets are allowed, resolving only to
 * public addresses. Returns the normalised URL text; throws WebhookTargetError with the reason.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<string> {
  const url = parseWebhookUrl(raw);
  if (allowPrivate) return url.href;
  const host = bareHost(url);
  let addresses: LookupAddress[];
  try {
    addresses = await resolveAll(host);
  } catch {
    throw new WebhookTargetError(`url host ${host} could not be resolved`);
  }
  if (addresses.length === 0) throw new WebhookTargetError(`url host ${host} could not be resolved`);
  const bad = addresses.find((entry) => isForbiddenAddress(entry.address));
  if (bad) throw refusal(host, bad.address);
  return url.href;
}

/** The refusal for an IP-literal URL host at delivery time (no DNS lookup happens for those). */
export function literalHostRefusal(url: URL): WebhookTargetError | undefined {
  const host = bareHost(url);
  return isIP(host) !== 0 && isForbiddenAddress(host) ? refusal(host, host) : undefined;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request: resolves every address of the host and fails the connection if any
 * is forbidden, so the socket connects only to an address that was checked a moment ago.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const bad = addresses.find((entry) => isForbiddenAddress(entry.address));
    if (bad) return callback(Object.assign(refusal(hostname, bad.address), { code: 'EWEBHOOKTARGET' }), '');
    const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    if (wanted.length === 0) return callback(Object.assign(new Error(`${hostname} has no IPv${String(options.family)} address`), { code: 'ENOTFOUND' }), '');
    if (options.all === true) return callback(null, wanted);
    const [first] = wanted;
    return callback(null, first?.address ?? '', first?.family);
  });
}
