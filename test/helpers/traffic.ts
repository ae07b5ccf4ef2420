// Traffic for the process tests: single requests that report a refused or cut connection instead of
// throwing, a stream of API reads and writes from several keep-alive clients, and a request left in
// flight (its body half sent) to finish later.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Outcome {
  status?: number;
  body?: string;
  headers?: IncomingHttpHeaders;
  /** The connection was refused or cut before an answer: the request was never accepted. */
  error?: string;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
  agent?: Agent;
  timeoutMs?: number;
}

export function call(url: string, options: CallOptions = {}): Promise<Outcome> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        agent: options.agent,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    // A test must fail, not hang, when an answer never comes.
    req.setTimeout(options.timeoutMs ?? 15_000, () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    req.end(payload);
  });
}

/** Errors that mean the server never took the request: refused, or a kept-alive connection it had already closed. */
export const NOT_ACCEPTED = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'socket hang up'];

export const newTask = (title: string, assignedTo: number) => ({ title, estimated_hours: 1, deadline: '2030-01-15T12:00:00Z', assigned_to: assignedTo });

export interface StreamOptions {
  base: string;
  headers: Record<string, string>;
  /** Tasks are created for this user (every third request). */
  assignee: number;
  total: number;
  clients: number;
  /** Called once, when request number `at` is sent. */
  at: number;
  trigger(): void;
}

/** Requests from `clients` keep-alive clients, in turns, until `total` were sent. */
export async function requestStream(options: StreamOptions): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let sent = 0;
  const client = async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (sent < options.total) {
      const n = (sent += 1);
      if (n === options.at) options.trigger();
      outcomes.push(
        n % 3 === 0
          ? await call(`${options.base}/api/tasks`, { method: 'POST', headers: options.headers, body: newTask(`Stream ${n}`, options.assignee), agent })
          : await call(`${options.base}/api/tasks?limit=5`, { headers: options.headers, agent }),
      );
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return outcomes;
}

export interface HalfSentRequest {
  /** Sends the rest of the body and resolves with the response's status line and headers. */
  finish(): Promise<string>;
  socket: Socket;
}

/** A POST whose headers and half of whose body are sent: the server holds it in flight. */
export async function halfSentRequest(port: number, path: string, headers: Record<string, string>, body: unknown): Promise<HalfSentRequest> {
  const payload = Buffer.from(JSON.stringify(body));
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  const head = [
    `POST ${path} HTTP/1.1`,
    'host: 127.0.0.1',
    'content-type: application/json',
    `content-length: ${payload.length}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  const half = Math.floor(payload.length / 2);
  socket.write(`${head}\r\n\r\n`);
  socket.write(payload.subarray(0, half));
  return {
    socket,
    finish: () =>
      new Promise((resolve) => {
        socket.once('close', () => resolve(received));
        socket.on('data', () => {
          if (received.includes('\r\n\r\n')) socket.end();
        });
        socket.write(payload.subarray(half));
      }),
  };
}

/** Writes `raw` bytes on a fresh connection and returns everything the server writes until it closes the connection. */
export async function rawExchange(port: number, raw: string | Buffer, endWrite: boolean, timeoutMs = 10_000): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(raw);
  if (endWrite) socket.end();
  // A server that neither answers nor closes must fail the test, not hang it.
  const timer = setTimeout(() => socket.destroy(new Error('timed out')), timeoutMs);
  await closed;
  clearTimeout(timer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The status, headers (lowercased names) and body of one raw HTTP/1.1 response. */
export function parseRawResponse(response: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}
