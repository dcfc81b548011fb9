/** One counter a call must fit in: a (rule, caller, tool) bucket and its per-window limit. */
export interface Bucket {
  key: string;
  limit: number;
}

export type HitResult = { allowed: true } | { allowed: false; retryAfterMs: number; bucket: number };

/**
 * Sliding-window counters (DESIGN.md: "sliding window"). `hit` is atomic over all the buckets of one
 * call: either every bucket counts the call, or none does and the answer says when the fullest one
 * has room again. Memory and Redis implementations pass one contract suite.
 */
export interface WindowStore {
  hit(buckets: readonly Bucket[], windowMs: number): Promise<HitResult>;
  close(): Promise<void>;
}

/**
 * The sliding-window counter (as in Cloudflare's and Redis' rate limiter write-ups): the previous fixed
 * window's count, weighted by how much of it still overlaps the sliding window, plus the current one's.
 * Two integers per bucket instead of a log of timestamps; the Lua script in redis-window-store.ts
 * computes the same.
 */
export function slidingEstimate(prev: number, cur: number, elapsed: number, windowMs: number): number {
  return (prev * (windowMs - elapsed)) / windowMs + cur;
}

/** Milliseconds until one more call fits, if nothing else is counted meanwhile (at least 1). */
export function retryAfterMs(prev: number, cur: number, elapsed: number, limit: number, windowMs: number) {
  let wait: number;
  if (cur + 1 <= limit) {
    // Room comes within this window, as the previous window's weight fades.
    wait = windowMs * (1 - (limit - 1 - cur) / prev) - elapsed;
  } else {
    // Only in the next window, where this window's count becomes the fading one.
    const fade = cur > limit - 1 ? windowMs * (1 - (limit - 1) / cur) : 0;
    wait = windowMs - elapsed + fade;
  }
  return Math.max(1, Math.ceil(wait));
}
