// Drives a server with autocannon (keep-alive connections, each sending its next request when the
// previous answer arrived) and reduces the run to what the table shows. Latencies are kept exactly
// (autocannon's own histogram rounds to whole milliseconds) from every 2xx response.
import autocannon from 'autocannon';

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * What a run sends: one request, the same every time (autocannon builds its bytes once), or the
 * request for each value of a counter shared by every connection (built anew for each request,
 * which costs the load generator about 60 % more CPU per request: 34 against 21 µs).
 */
export type Requests = RequestSpec | ((i: number) => RequestSpec);

/** The request a run sends `i`-th. */
export function requestAt(requests: Requests, i: number): RequestSpec {
  return typeof requests === 'function' ? requests(i) : requests;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  requests: Requests;
  headers?: Record<string, string>;
  /** Requests a second over all connections (a steady probe instead of as fast as possible). */
  overallRate?: number;
}

export interface LoadResult {
  /** Seconds measured. */
  seconds: number;
  /** Every 2xx latency (ms), ascending. */
  latencies: Float64Array;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
  statusCodes: Record<string, number>;
  bytesPerResponse: number;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? 0;
}

function autocannonRequest(options: LoadOptions, spec: RequestSpec) {
  return {
    method: spec.method,
    path: spec.path,
    body: spec.body,
    headers: { ...options.headers, ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }), ...spec.headers },
  };
}

export async function drive(options: LoadOptions): Promise<LoadResult> {
  let counter = 0;
  const latencies: number[] = [];
  let bytes = 0;
  let finish: (error: unknown, result: autocannon.Result) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => (finish = (error, result) => (error ? reject(error) : resolve(result))));
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections,
      duration: options.duration,
      overallRate: options.overallRate,
      headers: options.headers,
      timeout: 30,
      requests: [
        typeof options.requests === 'function'
          ? { setupRequest: (request) => ({ ...request, ...autocannonRequest(options, requestAt(options.requests, counter++)) }) }
          : autocannonRequest(options, options.requests),
      ],
    },
    (error, result) => finish(error, result),
  );
  // The listener really receives the client first (lib/run.js emits (client, status, bytes, time)).
  (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, status: number, resBytes: number, responseTime: number) => {
    if (status >= 200 && status < 300) {
      latencies.push(responseTime);
      bytes += resBytes;
    }
  });
  const result = await done;
  const sorted = Float64Array.from(latencies).sort();
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  return {
    seconds: result.duration,
    latencies: sorted,
    requests: sorted.length,
    rps: sorted.length / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    errors: result.non2xx + result.errors,
    statusCodes,
    bytesPerResponse: sorted.length === 0 ? 0 : bytes / sorted.length,
  };
}

/** Several runs of one thing as one: requests over the total time, percentiles over all latencies. */
export function combine(results: readonly LoadResult[]): LoadResult {
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
  const latencies = new Float64Array(results.reduce((n, r) => n + r.latencies.length, 0));
  let at = 0;
  for (const r of results) {
    latencies.set(r.latencies, at);
    at += r.latencies.length;
  }
  latencies.sort();
  const statusCodes: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const bytes = results.reduce((sum, r) => sum + r.bytesPerResponse * r.requests, 0);
  return {
    seconds,
    latencies,
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    statusCodes,
    bytesPerResponse: latencies.length === 0 ? 0 : bytes / latencies.length,
  };
}
