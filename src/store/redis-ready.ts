import type { RedisClient } from './redis-client.ts';

/**
 * Resolves once the client is connected, or after `ms` (start-up goes on: /readyz reports the store and
 * calls that need it fail closed until it connects). Without the wait, the first calls after start-up
 * found no connection and, with no offline queue, failed with 503 although Redis was up.
 */
export function redisReady(client: RedisClient, ms: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    client.on('ready', onReady);
  });
}
