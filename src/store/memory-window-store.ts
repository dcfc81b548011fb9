import {
  type Bucket,
  type HitResult,
  retryAfterMs,
  slidingEstimate,
  type WindowStore,
} from './window-store.ts';

interface Counter {
  window: number;
  cur: number;
  prev: number;
}

/** Sliding-window counters in this process: one replica only. Idle buckets are swept. */
export class MemoryWindowStore implements WindowStore {
  private readonly counters = new Map<string, Counter>();
  private readonly sweep: NodeJS.Timeout;
  private longestWindowMs = 60_000;

  constructor(
    private readonly now: () => number = Date.now,
    sweepMs = 60_000,
  ) {
    this.sweep = setInterval(() => this.dropIdle(), sweepMs);
    this.sweep.unref();
  }

  async hit(buckets: readonly Bucket[], windowMs: number): Promise<HitResult> {
    this.longestWindowMs = Math.max(this.longestWindowMs, windowMs);
    const t = this.now();
    const window = Math.floor(t / windowMs);
    const elapsed = t - window * windowMs;
    const current: Counter[] = [];
    let worst: { retryAfterMs: number; bucket: number } | undefined;
    buckets.forEach((b, i) => {
      const c = rolled(this.counters.get(b.key), window);
      current.push(c);
      if (slidingEstimate(c.prev, c.cur, elapsed, windowMs) + 1 > b.limit) {
        const wait = retryAfterMs(c.prev, c.cur, elapsed, b.limit, windowMs);
        if (!worst || wait > worst.retryAfterMs) worst = { retryAfterMs: wait, bucket: i };
      }
    });
    if (worst) return { allowed: false, ...worst };
    buckets.forEach((b, i) => {
      const c = current[i]!;
      this.counters.set(b.key, { window, cur: c.cur + 1, prev: c.prev });
    });
    return { allowed: true };
  }

  private dropIdle(): void {
    const window = Math.floor(this.now() / this.longestWindowMs);
    for (const [key, c] of this.counters) if (c.window < window - 1) this.counters.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.counters.clear();
  }
}

/** The counter as seen from `window`: last window's count becomes `prev`, older ones are gone. */
function rolled(c: Counter | undefined, window: number): Counter {
  if (!c || c.window < window - 1) return { window, cur: 0, prev: 0 };
  if (c.window === window - 1) return { window, cur: 0, prev: c.cur };
  return c;
}
