import type { Config, PiiEntity } from '../../config/schema.ts';
import { createLogger, type Logger } from '../../log.ts';
import { MemoryVault } from '../../store/memory-vault.ts';
import type { RedisClient } from '../../store/redis-client.ts';
import { createRedisClient } from '../../store/redis-client.ts';
import { RedisVault } from '../../store/redis-vault.ts';
import { VaultCrypto } from './vault-crypto.ts';

export interface VaultEntry {
  id: string;
  value: string;
  entity: PiiEntity;
}

/**
 * Token id → value, per scope (the caller), encrypted at rest, with a TTL. One interface, a memory and
 * a Redis implementation, one contract suite (test/contract/vault.contract.ts).
 */
export interface TokenVault {
  /** The token id of a value in a scope (a keyed hash: no store access). */
  tokenId(scope: string, entity: PiiEntity, value: string): string;
  /**
   * Stores the entries and (re)starts their TTL, in one round trip. Resolves, per entry, whether it
   * was already stored (a token hit). Rejects when the store cannot be reached.
   */
  put(scope: string, entries: readonly VaultEntry[], ttlSeconds: number): Promise<boolean[]>;
  /** The values of the ids this scope stored and that have not expired, in one round trip. */
  get(scope: string, ids: readonly string[]): Promise<Map<string, string>>;
  close(): Promise<void>;
}

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
