import type { Redis } from 'ioredis';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { MemoryStreamLeases, RedisStreamLeases } from '../../src/store/stream-leases.ts';
import { privateRedis } from '../helpers/redis.ts';
import { streamLeasesContract } from './stream-leases.contract.ts';

const prefix = `test-leases-${process.pid}-${Date.now()}:`;

async function clientFor(url: string): Promise<Redis> {
  const client = createRedisClient({ kind: 'redis', url, keyPrefix: prefix });
  client.on('error', () => {});
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r));
  return client;
}

streamLeasesContract('memory', async () => {
  const leases = new MemoryStreamLeases();
  return { a: leases, b: leases, close: async () => {} };
});

streamLeasesContract('redis', async () => {
  const redis = await privateRedis();
  const [ca, cb] = [await clientFor(redis.url), await clientFor(redis.url)];
  return {
    a: new RedisStreamLeases(ca, prefix),
    b: new RedisStreamLeases(cb, prefix),
    async close() {
      await Promise.allSettled([ca.quit(), cb.quit()]);
      await redis.stop();
    },
  };
});
