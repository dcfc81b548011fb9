import { MemoryGrantStore } from '../../src/store/grant-store.ts';
import { RedisGrantStore } from '../../src/store/redis-grant-store.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import { privateRedis, readyRedisClient } from '../helpers/redis.ts';
import { grantStoreContract } from './grant-store.contract.ts';

const prefix = `test-grants-${process.pid}-${Date.now()}:`;
const KEY = 'grant-store-contract-key-0123456789';

grantStoreContract('memory', async () => {
  const store = new MemoryGrantStore(new VaultCrypto(KEY));
  return {
    a: store,
    b: store,
    // Memory is one process: "another key" is another store that sees none of it, trivially.
    otherKey: async () => new MemoryGrantStore(new VaultCrypto(`${KEY}-other`)),
    dump: async () => JSON.stringify(store, (_k, v) => (v instanceof Map ? [...v.entries()] : v)),
    close: async () => {},
  };
});

grantStoreContract('redis', async () => {
  const redis = await privateRedis();
  const [ca, cb, raw] = [
    await readyRedisClient(redis.url, ''),
    await readyRedisClient(redis.url, ''),
    await readyRedisClient(redis.url, ''),
  ];
  return {
    a: new RedisGrantStore(ca, new VaultCrypto(KEY), prefix),
    b: new RedisGrantStore(cb, new VaultCrypto(KEY), prefix),
    otherKey: async () => new RedisGrantStore(raw, new VaultCrypto(`${KEY}-other`), prefix),
    async dump() {
      const lines: string[] = [];
      for (const k of await raw.keys(`${prefix}*`)) {
        const type = await raw.type(k);
        const value =
          type === 'hash'
            ? JSON.stringify(
                Object.entries(await raw.hgetallBuffer(k)).map(([f, v]) => [f, v.toString('latin1')]),
              )
            : ((await raw.getBuffer(k))?.toString('latin1') ?? '');
        lines.push(`${k} ${value}`);
      }
      return lines.join('\n');
    },
    async close() {
      await Promise.allSettled([ca.quit(), cb.quit(), raw.quit()]);
      await redis.stop();
    },
  };
});
