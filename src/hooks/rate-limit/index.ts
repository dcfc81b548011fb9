import { globMatcher } from '../../catalog/glob.ts';
import type { RateLimitRule } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Bucket, WindowStore } from '../../store/window-store.ts';
import { namesCaller } from '../callers.ts';
import type { CallContext, Caller, McpCall, Outcome, PreHook } from '../pipeline.ts';

export { LeasedWindowStore } from '../../store/leased-window-store.ts';
export { MemoryWindowStore } from '../../store/memory-window-store.ts';
export { RedisWindowStore } from '../../store/redis-window-store.ts';
export type { Bucket, HitResult, WindowStore } from '../../store/window-store.ts';

const WINDOW_MS = 60_000;
/** What a client is told to wait when the counter store cannot be reached. */
const STORE_RETRY_MS = 1_000;

/**
 * `policies.rateLimits`: every rule naming the caller and matching the public tool name counts the
 * call in its own (rule, caller, tool) bucket; a call over any limit fails with RATE_LIMITED and the
 * wait in `data.retryAfterMs`. Counting is atomic over all of a call's buckets (one store round trip).
 * If the store cannot be reached, calls fail closed with STORE_UNAVAILABLE (HTTP 503 + Retry-After).
 * Rate limits apply to tools/call; prompts and resources are not metered.
 */
export function rateLimitHook(
  rules: readonly RateLimitRule[],
  store: WindowStore,
  opts: { keyPrefix: string; log: Logger },
): PreHook {
  const compiled = rules.map((r, i) => ({
    index: i,
    callers: r.callers,
    tools: globMatcher(r.tools),
    limit: r.perMinute,
  }));
  /** The buckets of each (caller, tool), computed once: inbound auth reuses one Caller object per identity. */
  const perCaller = new WeakMap<Caller, Map<string, Bucket[]>>();
  const bucketsOf = (caller: Caller, tool: string): Bucket[] => {
    let tools = perCaller.get(caller);
    if (!tools) {
      tools = new Map();
      perCaller.set(caller, tools);
    }
    let buckets = tools.get(tool);
    if (!buckets) {
      buckets = [];
      // One hash tag per (caller, tool), so a call's buckets share a Redis Cluster slot.
      const tag = `{${encodeURIComponent(caller.id)}|${encodeURIComponent(tool)}}`;
      for (const r of compiled)
        if (namesCaller(r.callers, caller) && r.tools(tool))
          buckets.push({ key: `${opts.keyPrefix}rl:${tag}:${r.index}`, limit: r.limit });
      tools.set(tool, buckets);
    }
    return buckets;
  };
  return {
    name: 'rate-limit',
    overlaps: true,
    async before(call: McpCall, ctx: CallContext): Promise<Outcome<McpCall>> {
      if (call.method !== 'tools/call') return { kind: 'pass' };
      const buckets = bucketsOf(ctx.caller, call.publicName);
      if (buckets.length === 0) return { kind: 'pass' };
      let result: Awaited<ReturnType<WindowStore['hit']>>;
      try {
        result = await store.hit(buckets, WINDOW_MS);
      } catch (err) {
        opts.log.warn({ err: (err as Error).message }, 'rate limit store unavailable: failing closed');
        return {
          kind: 'reject',
          decision: 'rate_limited',
          error: new ProxyError(
            'STORE_UNAVAILABLE',
            'the rate limit store is unavailable; try again shortly',
            { retryAfterMs: STORE_RETRY_MS },
            503,
          ),
        };
      }
      if (result.allowed) return { kind: 'pass' };
      const limit = buckets[result.bucket]?.limit ?? 0;
      return {
        kind: 'reject',
        decision: 'rate_limited',
        error: new ProxyError(
          'RATE_LIMITED',
          `rate limit reached: ${limit} calls a minute to "${call.publicName}" for caller "${ctx.caller.id}"; retry in ${Math.ceil(result.retryAfterMs / 1000)} s`,
          { retryAfterMs: result.retryAfterMs, limit },
        ),
      };
    },
  };
}
