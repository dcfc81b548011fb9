import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { type GrantStore, MemoryGrantStore } from './grant-store.ts';
import type { RedisClient } from './redis-client.ts';
import { RedisGrantStore } from './redis-grant-store.ts';
import { VaultCrypto } from './vault-crypto.ts';

/**
 * The grant store of the config's store kind, sealed with `secrets.vaultKey`. Without the key, grants
 * are sealed with a random per-process key: good on one replica until it restarts, said once as a
 * warning when an upstream uses per-user OAuth.
 */
export function createGrantStore(config: Config, redis: RedisClient | undefined, log: Logger): GrantStore {
  const key = config.secrets.vaultKey;
  if (!key && config.upstreams.some((u) => u.auth.kind === 'userOAuth'))
    log.warn(
      'secrets.vaultKey is not set: per-user OAuth grants use a random per-process key, so users consent ' +
        'again after a restart and another replica cannot use their grants (single replica only)',
    );
  const crypto = key ? new VaultCrypto(key) : VaultCrypto.random();
  if (redis && config.store.kind === 'redis')
    return new RedisGrantStore(redis, crypto, config.store.keyPrefix);
  return new MemoryGrantStore(crypto);
}
