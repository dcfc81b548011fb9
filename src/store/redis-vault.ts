import type { Cluster, Redis } from 'ioredis';
import type { PiiEntity } from '../config/schema.ts';
import type { TokenVault, VaultEntry } from '../hooks/pii/vault.ts';
import type { VaultCrypto } from '../hooks/pii/vault-crypto.ts';
import type { Logger } from '../log.ts';

export interface RedisVaultOptions {
  keyPrefix: string;
  log: Logger;
  /** Close the client with the vault (it was made for the vault alone). */
  ownsClient?: boolean;
}

/**
 * The vault in Redis, shared by every replica with the same `secrets.vaultKey`. Keys are
 * `<prefix>pii:{<scope tag>}:<token id>`: the hash tag keeps one scope in one Cluster slot, so a call's
 * writes are one pipeline and its reads one MGET on one node; the tag is a keyed hash, so the store
 * never holds a caller id, and values are sealed (AES-256-GCM), so it never holds PII.
 */
export class RedisVault implements TokenVault {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly crypto: VaultCrypto,
    private readonly opts: RedisVaultOptions,
  ) {}

  tokenId(scope: string, entity: PiiEntity, value: string): string {
    return this.crypto.tokenId(scope, entity, value);
  }

  key(scope: string, id: string): string {
    return `${this.opts.keyPrefix}pii:{${this.crypto.scopeTag(scope)}}:${id}`;
  }

  /** SET NX keeps the first ciphertext (and tells a hit from a miss); EXPIRE restarts the TTL either way. */
  async put(scope: string, entries: readonly VaultEntry[], ttlSeconds: number): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const e of entries) {
      const key = this.key(scope, e.id);
      pipeline.set(key, this.crypto.seal(scope, e.id, e.value), 'EX', ttlSeconds, 'NX');
      pipeline.expire(key, ttlSeconds);
    }
    const replies = await pipeline.exec();
    if (!replies || replies.length !== entries.length * 2)
      throw new Error('PII vault write did not complete');
    return entries.map((_, i) => {
      const [err, reply] = replies[i * 2]!;
      if (err) throw err;
      const [expireErr] = replies[i * 2 + 1]!;
      if (expireErr) throw expireErr;
      return reply === null;
    });
  }

  async get(scope: string, ids: readonly string[]): Promise<Map<string, string>> {
    const values = new Map<string, string>();
    if (ids.length === 0) return values;
    const blobs = await this.redis.mgetBuffer(...ids.map((id) => this.key(scope, id)));
    ids.forEach((id, i) => {
      const blob = blobs[i];
      if (!blob) return;
      const value = this.crypto.open(scope, id, blob);
      if (value === undefined)
        this.opts.log.warn({ tokenId: id }, 'PII vault entry failed authentication; ignored');
      else values.set(id, value);
    });
    return values;
  }

  async close(): Promise<void> {
    if (this.opts.ownsClient) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
