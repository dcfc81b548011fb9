import type { LeaseAsk, RedisWindowStore } from './redis-window-store.ts';
import type { Bucket, HitResult, WindowStore } from './window-store.ts';

/** Units of one bucket this replica has counted in Redis and not spent yet. */
interface Lease {
  units: number;
  /** Local clock: spent until then, given back at the next lease after. */
  until: number;
  /** The Redis window index the units were counted in. */
  window: number;
  /** Calls this lease served: the next one asks for about twice that. */
  used: number;
}

/** A lease lives this long, or a twentieth of the window if that is shorter. */
const LEASE_MS = 250;
/** Most expired leases remembered for giving back. */
const MAX_LEASES = 50_000;

/**
 * Redis rate limits without a round trip per call (issue 15): a replica counts a few units of a
 * bucket in Redis at once (its lease, one script call) and spends them locally until they run out or
 * the lease expires; the next lease gives back what was left unspent. A lease is at most the limit's
 * rate over the lease time (`limit × lease / window`, at least 1) and about twice what the last lease
 * served, so a quiet caller leases one unit at a time and a limit under 240 a minute is exact.
 *
 * Exactness (README "Rate limits across replicas"): every unit is counted in Redis before it is
 * spent, so replicas together never let more calls through than the limit. What a lease holds unspent
 * is unavailable to the other replicas until it is given back (at most one lease per bucket and replica,
 * for at most 250 ms): a caller at its limit may be refused by one replica while another still holds a
 * few units. A unit counted late in a window may be spent up to 250 ms into the next.
 */
export class LeasedWindowStore implements WindowStore {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly remote: RedisWindowStore,
    private readonly now: () => number = Date.now,
  ) {}

  async hit(buckets: readonly Bucket[], windowMs: number): Promise<HitResult> {
    const t = this.now();
    if (this.spendLocally(buckets, t)) return { allowed: true };
    const leaseMs = Math.min(LEASE_MS, windowMs / 20);
    const asks: LeaseAsk[] = buckets.map((b) => this.ask(b, t, leaseMs, windowMs));
    const r = await this.remote.lease(buckets, windowMs, asks);
    if (!r.allowed) return { allowed: false, retryAfterMs: r.retryAfterMs, bucket: r.bucket };
    const until = this.now() + leaseMs;
    buckets.forEach((b, i) => {
      const granted = r.granted[i] ?? 1;
      const lease = this.leases.get(b.key);
      // Concurrent leases of one bucket add up (none of their units may be lost, counted but unspent).
      if (lease && lease.window === r.window && lease.until > t) {
        lease.units += granted - 1;
        lease.used += 1;
        lease.until = until;
      } else this.leases.set(b.key, { units: granted - 1, until, window: r.window, used: 1 });
    });
    if (this.leases.size > MAX_LEASES) this.sweep(t);
    return { allowed: true };
  }

  /** One call out of the leases, when every bucket of it has a unit left. */
  private spendLocally(buckets: readonly Bucket[], t: number): boolean {
    for (const b of buckets) {
      const lease = this.leases.get(b.key);
      if (!lease || lease.units < 1 || lease.until <= t) return false;
    }
    for (const b of buckets) {
      const lease = this.leases.get(b.key) as Lease;
      lease.units--;
      lease.used++;
    }
    return true;
  }

  /** What to ask Redis for `b`: a lease sized by the limit and the last one's use; an expired one's rest back. */
  private ask(b: Bucket, t: number, leaseMs: number, windowMs: number): LeaseAsk {
    const most = Math.max(1, Math.floor((b.limit * leaseMs) / windowMs));
    const lease = this.leases.get(b.key);
    const want = Math.min(most, 2 * (lease?.used ?? 0) + 1);
    if (!lease || lease.until > t) return { want, giveBack: 0, giveBackWindow: 0 };
    this.leases.delete(b.key);
    return { want, giveBack: lease.units, giveBackWindow: lease.window };
  }

  /**
   * Too many buckets: expired leases go, unspent units and all (counted in Redis, never spent: they lapse
   * with their window, so this can only leave capacity unused, never let more through).
   */
  private sweep(t: number): void {
    for (const [key, lease] of this.leases) if (lease.until <= t) this.leases.delete(key);
  }

  /** Unspent units are not given back at shutdown: they lapse with the window (counted, never spent). */
  async close(): Promise<void> {
    this.leases.clear();
    await this.remote.close();
  }
}
