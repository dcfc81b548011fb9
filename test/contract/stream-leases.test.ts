import { MemoryStreamLeases, RedisStreamLeases } from '../../src/store/stream-leases.ts';
import { privateRedis, readyRedisClient } from '../helpers/redis.ts';
import { streamLeasesContract } from './stream-leases.contract.ts';

const prefix = `test-leases-${process.pid}-${Date.now()}:`;

const clientFor = (url: string) => readyRedisClient(url, prefix);

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
