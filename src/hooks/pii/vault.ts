import type { Config } from '../../config/schema.ts';
import { createLogger, type Logger } from '../../log.ts';
import { MemoryVault } from '../../store/memory-vault.ts';
import type { RedisClient } from '../../store/redis-client.ts';
import { createRedisClient } from '../../store/redis-client.ts';
import { RedisVault } from '../../store/redis-vault.ts';
import type { TokenVault } from '../../store/vault.ts';
import { VaultCrypto } from '../../store/vault-crypto.ts';

export type { TokenVault, VaultEntry } from '../../store/vault.ts';

/**
 * The vault the config asks for. `redis` is the process's shared client (not closed with the vault);
 * without it a Redis store gets a client of its own. Without `secrets.vaultKey` the key is random and
 * good for this process only, which is logged as a warning.
 */
export function createVault(
  config: Pick<Config, 'store' | 'secrets'>,
  redis?: RedisClient,
  log: Logger = createLogger(),
): TokenVault {
  let crypto: VaultCrypto;
  if (config.secrets.vaultKey) crypto = new VaultCrypto(config.secrets.vaultKey);
  else {
    crypto = VaultCrypto.random();
    log.warn(
      'secrets.vaultKey is not set: PII tokens use a random per-process key, so they cannot be resolved ' +
        'by another replica or after a restart (single replica only)',
    );
  }
  if (config.store.kind === 'memory') return new MemoryVault(crypto, log);
  const client = redis ?? createRedisClient(config.store);
  return new RedisVault(client, crypto, { keyPrefix: config.store.keyPrefix, log, ownsClient: !redis });
}
