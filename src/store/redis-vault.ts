import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { PiiEntity } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { TokenVault, VaultEntry } from './vault.ts';
import type { VaultCrypto } from './vault-crypto.ts';

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
  /**
   * Keys this process wrote lately, with when: a value seen again within a tenth of its TTL (at most
   * a minute) is neither sealed nor written again. A caller repeating the same values (the common case:
   * the same address in every call) then costs the vault no Redis command at all. Cleared when the
   * connection comes back, since a Redis that restarted lost them.
   */
  private readonly recent = new LRUCache<string, number>({ max: 50_000 });

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly crypto: VaultCrypto,
    private readonly opts: RedisVaultOptions,
  ) {
    redis.on('ready', () => this.recent.clear());
  }

  tokenId(scope: string, entity: PiiEntity, value: string): string {
    return this.crypto.tokenId(scope, entity, value);
  }

  key(scope: string, id: string): string {
    return `${this.opts.keyPrefix}pii:{${this.crypto.scopeTag(scope)}}:${id}`;
  }

  /**
   * SET NX keeps the first ciphertext (and tells a hit from a miss); EXPIRE restarts the TTL either way.
   * Plain commands issued in one tick, not a MULTI/pipeline object: the client's auto-pipelining then
   * sends them in one write together with the call's rate-limit check, which starts beside them.
   */
  async put(scope: string, entries: readonly VaultEntry[], ttlSeconds: number): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const now = Date.now();
    // Only while connected: with Redis down the write must fail (closed), as it would without the cache.
    const fresh = this.redis.status === 'ready' ? now - Math.min(60_000, ttlSeconds * 100) : now;
    const hits: boolean[] = [];
    const writes: Promise<[string | null, number]>[] = [];
    const slots: number[] = [];
    entries.forEach((e, i) => {
      const key = this.key(scope, e.id);
      if ((this.recent.get(key) ?? 0) > fresh) {
        hits[i] = true;
        return;
      }
      slots.push(i);
      writes.push(
        Promise.all([
          this.redis.set(key, this.crypto.seal(scope, e.id, e.value), 'EX', ttlSeconds, 'NX'),
          this.redis.expire(key, ttlSeconds),
        ]),
      );
    });
    if (writes.length === 0) return hits;
    const replies = await Promise.all(writes);
    replies.forEach(([set], n) => {
      const i = slots[n]!;
      hits[i] = set === null;
      this.recent.set(this.key(scope, entries[i]!.id), now);
    });
    return hits;
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
