import type { Cluster, Redis } from 'ioredis';

/**
 * Who holds the standalone GET stream of one upstream session (DESIGN.md, "One GET stream per upstream
 * session"): replicas share per-client upstream sessions and a server allows one GET stream each, so
 * one replica holds it under a lease, renews it while it keeps the stream, and gives it up when it
 * closes it. A lease that is not renewed (its replica died) runs out, and the next replica with a call
 * in that session takes over.
 */
export interface StreamLeases {
  /** Takes the lease for `holder`, or extends it when `holder` has it; false while another has it. */
  acquire(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up, if `holder` has it. */
  release(key: string, holder: string): Promise<void>;
}

/** One process: the leases of its own upstream sessions. */
export class MemoryStreamLeases implements StreamLeases {
  private readonly leases = new Map<string, { holder: string; until: number }>();

  async acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const lease = this.leases.get(key);
    if (lease && lease.holder !== holder && lease.until > now) return false;
    this.leases.set(key, { holder, until: now + ttlMs });
    if (this.leases.size > 10_000) this.sweep(now);
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.leases.get(key)?.holder === holder) this.leases.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, lease] of this.leases) if (lease.until <= now) this.leases.delete(key);
  }
}

/** Take or extend in one step: another replica's lease is never overwritten. */
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Leases in Redis under `<prefix>stream-lease:{<key>}` (one key each, so Cluster-safe). */
export class RedisStreamLeases implements StreamLeases {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  key(key: string): string {
    return `${this.prefix}stream-lease:{${key}}`;
  }

  async acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE, 1, this.key(key), holder, String(ttlMs))) === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(key), holder);
  }
}
