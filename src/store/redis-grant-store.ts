import { type GrantKey, GrantSealing, type GrantStore, type UserGrant } from './grant-store.ts';
import type { RedisClient } from './redis-client.ts';
import type { VaultCrypto } from './vault-crypto.ts';

// Deletes the lock only if its holder still holds it (a lock that expired and was taken by another
// replica must not be released by the first).
const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Grants in Redis, shared by the replicas with the same `secrets.vaultKey`: one hash per upstream
 * (`<prefix>grants:{<upstream>}`, one Cluster slot, HLEN is its count), a field per (binding, keyed
 * caller hash) holding the sealed grant. Locks are `SET NX PX` with a holder token; one-time records
 * `SET PX` read back with GETDEL, so a state is spent once however many callbacks race for it.
 */
export class RedisGrantStore implements GrantStore {
  private readonly sealing: GrantSealing;

  constructor(
    private readonly redis: RedisClient,
    crypto: VaultCrypto,
    private readonly keyPrefix: string,
  ) {
    this.sealing = new GrantSealing(crypto);
  }

  private hash(upstream: string): string {
    return `${this.keyPrefix}grants:{${upstream}}`;
  }

  private lockKey(key: GrantKey): string {
    return `${this.keyPrefix}grants:{${key.upstream}}:lock:${this.sealing.field(key)}`;
  }

  private onceKey(id: string): string {
    return `${this.keyPrefix}oauth-once:${id}`;
  }

  async get(key: GrantKey): Promise<UserGrant | undefined> {
    const blob = await this.redis.hgetBuffer(this.hash(key.upstream), this.sealing.field(key));
    return blob ? this.sealing.openGrant(key, blob) : undefined;
  }

  async put(key: GrantKey, grant: UserGrant): Promise<void> {
    await this.redis.hset(
      this.hash(key.upstream),
      this.sealing.field(key),
      this.sealing.sealGrant(key, grant),
    );
  }

  async delete(key: GrantKey): Promise<boolean> {
    return (await this.redis.hdel(this.hash(key.upstream), this.sealing.field(key))) > 0;
  }

  count(upstream: string): Promise<number> {
    return this.redis.hlen(this.hash(upstream));
  }

  async lock(key: GrantKey, holder: string, ttlMs: number): Promise<boolean> {
    const name = this.lockKey(key);
    if ((await this.redis.set(name, holder, 'PX', ttlMs, 'NX')) === 'OK') return true;
    // Re-entrant for its holder: the same replica extending its own lock.
    if ((await this.redis.get(name)) !== holder) return false;
    await this.redis.pexpire(name, ttlMs);
    return true;
  }

  async unlock(key: GrantKey, holder: string): Promise<void> {
    await this.redis.eval(UNLOCK, 1, this.lockKey(key), holder);
  }

  async putOnce(id: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.onceKey(id), this.sealing.sealOnce(id, value), 'PX', ttlMs);
  }

  async peekOnce(id: string): Promise<string | undefined> {
    return this.sealing.openOnce(id, await this.redis.getBuffer(this.onceKey(id)));
  }

  async takeOnce(id: string): Promise<string | undefined> {
    return this.sealing.openOnce(id, await this.redis.getdelBuffer(this.onceKey(id)));
  }

  async close(): Promise<void> {
    // The Redis client is the app's, closed with it.
  }
}
