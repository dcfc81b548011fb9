import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../src/store/memory-session-store.ts';
import { RedisSessionStore } from '../../src/store/redis-session-store.ts';
import { privateRedis, readyRedisClient, type TestRedis } from '../helpers/redis.ts';
import { sessionStoreContract } from './session-store.contract.ts';

const prefix = `test-sessions-${process.pid}-${Date.now()}:`;

const clientFor = (url: string) => readyRedisClient(url, prefix);

sessionStoreContract('memory', async () => {
  const store = new MemorySessionStore();
  return { store, sibling: store, close: () => store.close() };
});

sessionStoreContract('redis', async () => {
  const redis = await privateRedis();
  const a = await clientFor(redis.url);
  const b = await clientFor(redis.url);
  return {
    store: new RedisSessionStore(a, prefix),
    sibling: new RedisSessionStore(b, prefix),
    async close() {
      await Promise.allSettled([a.quit(), b.quit()]);
      await redis.stop();
    },
  };
});

describe('redis session store specifics', () => {
  let own: TestRedis;
  let client: Redis;
  let store: RedisSessionStore;
  beforeAll(async () => {
    own = await privateRedis({ own: true });
    client = await clientFor(own.url);
    store = new RedisSessionStore(client, prefix);
  });
  afterAll(async () => {
    client.disconnect();
    await own.stop();
  });

  it('puts each session under its own hash tag, with a TTL', async () => {
    await store.put(
      { id: 'abc', caller: 'x', protocolVersion: '2025-11-25', upstreamSessions: {}, createdAt: 1 },
      30,
    );
    expect(store.key('abc')).toBe(`${prefix}session:{abc}`);
    const ttl = await client.ttl(store.key('abc'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it('fails loudly (no silent answer) while Redis is down', async () => {
    await own.stop();
    await expect(store.get('abc')).rejects.toThrow();
    await expect(store.touch('abc', 30)).rejects.toThrow();
    await own.restart();
  });
});
