import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { MemoryReplicaBus, RedisReplicaBus } from '../../src/store/replica-bus.ts';
import { privateRedis, readyRedisClient } from '../helpers/redis.ts';
import { replicaBusContract } from './replica-bus.contract.ts';

const prefix = `test-bus-${process.pid}:`;

replicaBusContract('redis', async () => {
  const redis = await privateRedis();
  const store = { kind: 'redis' as const, url: redis.url, keyPrefix: prefix };
  const [pa, pb] = [await readyRedisClient(redis.url, prefix), await readyRedisClient(redis.url, prefix)];
  const a = new RedisReplicaBus(pa, store, silentLogger);
  const b = new RedisReplicaBus(pb, store, silentLogger);
  return {
    a,
    b,
    async close() {
      await Promise.allSettled([a.close(), b.close()]);
      await Promise.allSettled([pa.quit(), pb.quit()]);
      await redis.stop();
    },
  };
});

describe('memory replica bus (one process)', () => {
  it('has no other replica: it delivers only to itself and counts nobody', async () => {
    const bus = new MemoryReplicaBus();
    const got: unknown[] = [];
    bus.onDirect((m) => got.push(m));
    expect(await bus.sendTo(bus.replicaId, { kind: 'self' })).toBe(true);
    expect(await bus.sendTo('another', { kind: 'x' })).toBe(false);
    expect(await bus.broadcast({ kind: 'x' })).toBe(0);
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toEqual([{ kind: 'self' }]);
  });
});
