/**
 * The Redis vault's write cache: a value written lately is not sealed and written again (no Redis
 * command), the TTL is still refreshed once a tenth of it has passed, and nothing is skipped while the
 * connection is down or after it came back (a restarted Redis lost the entries).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { RedisVault } from '../../src/store/redis-vault.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';

let redis: TestRedis;
beforeAll(async () => {
  redis = await privateRedis({ own: true });
});
afterAll(() => redis?.stop());

describe('RedisVault write cache', () => {
  it('writes a repeated value once, refreshes it after a tenth of its TTL, and writes again after a reconnect', async () => {
    const client = createRedisClient({ kind: 'redis', url: redis.url, keyPrefix: 'cache-test:' });
    await new Promise((r) => client.once('ready', r));
    const vault = new RedisVault(client, new VaultCrypto('cache-test-vault-key-0123456789'), {
      keyPrefix: 'cache-test:',
      log: silentLogger,
    });
    let writes = 0;
    const set = client.set.bind(client);
    client.set = ((...args: Parameters<typeof set>) => {
      writes++;
      return set(...args);
    }) as typeof client.set;
    const entry = {
      id: vault.tokenId('alice', 'EMAIL', 'a@example.com'),
      value: 'a@example.com',
      entity: 'EMAIL' as const,
    };
    try {
      expect(await vault.put('alice', [entry], 2)).toEqual([false]);
      expect(await vault.put('alice', [entry], 2)).toEqual([true]);
      expect(writes).toBe(1);
      await new Promise((r) => setTimeout(r, 250)); // past 2 s / 10: the TTL is refreshed
      expect(await vault.put('alice', [entry], 2)).toEqual([true]);
      expect(writes).toBe(2);
      client.disconnect(true); // reconnects by itself; 'ready' clears the cache
      await new Promise((r) => client.once('ready', r));
      await vault.put('alice', [entry], 2);
      expect(writes).toBe(3);
      expect((await vault.get('alice', [entry.id])).get(entry.id)).toBe('a@example.com');
    } finally {
      client.disconnect();
    }
  });
});
