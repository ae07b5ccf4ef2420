// A TCP proxy in front of Redis for the failure tests: it can freeze (connections stay open, no byte
// moves either way — a network blackhole, or a Redis stuck in a long command) and can refuse the
// connections whose first command matches a pattern (one client of several cannot connect).
import net from 'node:net';

export interface RedisProxy {
  url: string;
  freeze(): void;
  /** Delivers what was held back, then passes bytes again. */
  thaw(): void;
  close(): Promise<void>;
}

export async function redisProxy(options: { target?: { host: string; port: number }; refuse?: RegExp } = {}): Promise<RedisProxy> {
  const target = options.target ?? { host: '127.0.0.1', port: 6379 };
  let frozen = false;
  const held: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    sockets.add(client).add(upstream);
    let first = true;
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk) => {
        if (from === client && first) {
          first = false;
          if (options.refuse?.test(chunk.toString('latin1'))) return void client.destroy();
        }
        if (frozen) held.push(() => to.write(chunk));
        else to.write(chunk);
      });
    pipe(client, upstream);
    pipe(upstream, client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
      for (const write of held.splice(0)) write();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
