// What every Redis connection of ours shares.
import type { Redis } from 'ioredis';

/** A Redis command unanswered this long fails: a stalled server must not hold a request or a shutdown. */
export const REDIS_COMMAND_TIMEOUT_MS = 500;

/** Closes the connections politely (QUIT), or at once when Redis does not answer within the command timeout. */
export async function closeRedis(...connections: Redis[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(connections.map((connection) => connection.quit())),
    new Promise((resolve) => {
      timer = setTimeout(resolve, REDIS_COMMAND_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  for (const connection of connections) connection.disconnect();
}
