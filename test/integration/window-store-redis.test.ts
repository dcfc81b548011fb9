/** The sliding-window contract on a real redis-server (test/helpers/redis.ts). */
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisWindowStore } from '../../src/hooks/rate-limit/index.ts';
import { windowStoreContract } from '../contract/window-store.contract.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';

let server: TestRedis;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await privateRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await server?.stop();
});

windowStoreContract('redis', async () => {
  const client = new Redis(server.url);
  clients.push(client);
  return new RedisWindowStore(client);
});
