import type { RedisClient } from './redis-client.ts';
import type { Bucket, HitResult, WindowStore } from './window-store.ts';

/**
 * All buckets of one call in one atomic script, so a call costs one Redis round trip however many
 * rules apply. The clock is Redis' own (TIME), so replicas with drifting clocks share one window.
 * Each bucket is a hash {w: window index, c: count, p: previous window's count}. Same arithmetic as
 * window-store.ts. Per bucket the script takes its limit, how many units to count (`want`: 1 for one
 * call, more for a lease) and unspent units of an earlier lease to give back, with the window they
 * were counted in. Either every bucket has room for one more and counts min(want, room), or none
 * counts anything (given-back units are returned either way) and the answer says when the fullest
 * one has room. Returns {1, 0, -1, window, granted...} or {0, wait, bucket, window}.
 */
const SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local w = math.floor(now / ms)
local elapsed = now - w * ms
local cur, prev, room, back = {}, {}, {}, {}
local worst, worstWait = -1, 0
for i = 1, #KEYS do
  local a = 2 + (i - 1) * 4
  local limit, give, giveWindow = tonumber(ARGV[a]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local v = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local sw, c, p = tonumber(v[1]), tonumber(v[2]) or 0, tonumber(v[3]) or 0
  if sw == w - 1 then p = c; c = 0
  elseif sw ~= w then c = 0; p = 0 end
  back[i] = give > 0
  if give > 0 and giveWindow == w then c = math.max(0, c - give)
  elseif give > 0 and giveWindow == w - 1 then p = math.max(0, p - give) end
  cur[i], prev[i] = c, p
  room[i] = math.floor(limit - (p * (ms - elapsed) / ms + c))
  if room[i] < 1 then
    local wait
    if c + 1 <= limit then
      wait = ms * (1 - (limit - 1 - c) / p) - elapsed
    else
      local fade = 0
      if c > limit - 1 then fade = ms * (1 - (limit - 1) / c) end
      wait = ms - elapsed + fade
    end
    wait = math.max(1, math.ceil(wait))
    if wait > worstWait then worst, worstWait = i - 1, wait end
  end
end
if worst >= 0 then
  for i = 1, #KEYS do
    if back[i] then
      redis.call('HSET', KEYS[i], 'w', w, 'c', cur[i], 'p', prev[i])
      redis.call('PEXPIRE', KEYS[i], ms * 2)
    end
  end
  return {0, worstWait, worst, w}
end
local out = {1, 0, -1, w}
for i = 1, #KEYS do
  local granted = math.min(tonumber(ARGV[2 + (i - 1) * 4 + 1]), room[i])
  redis.call('HSET', KEYS[i], 'w', w, 'c', cur[i] + granted, 'p', prev[i])
  redis.call('PEXPIRE', KEYS[i], ms * 2)
  out[#out + 1] = granted
end
return out
`;

/** What a lease asks of one bucket: units to count, and unspent ones of an expired lease to give back. */
export interface LeaseAsk {
  want: number;
  giveBack: number;
  /** The window index the given-back units were counted in. */
  giveBackWindow: number;
}

export type LeaseResult =
  | { allowed: true; window: number; granted: number[] }
  | { allowed: false; retryAfterMs: number; bucket: number; window: number };

type WithScript = RedisClient & {
  mcpFedSlidingLease(...args: (string | number)[]): Promise<number[]>;
};

/** Sliding-window counters shared by every replica on one Redis (keys already carry store.keyPrefix). */
export class RedisWindowStore implements WindowStore {
  private readonly redis: WithScript;

  constructor(redis: RedisClient) {
    if (!('mcpFedSlidingLease' in redis)) redis.defineCommand('mcpFedSlidingLease', { lua: SCRIPT });
    this.redis = redis as WithScript;
  }

  async hit(buckets: readonly Bucket[], windowMs: number): Promise<HitResult> {
    const r = await this.lease(
      buckets,
      windowMs,
      buckets.map(() => ({ want: 1, giveBack: 0, giveBackWindow: 0 })),
    );
    return r.allowed ? { allowed: true } : { allowed: false, retryAfterMs: r.retryAfterMs, bucket: r.bucket };
  }

  /** Counts up to `asks[i].want` units in each bucket at once (see the script), in one round trip. */
  async lease(buckets: readonly Bucket[], windowMs: number, asks: readonly LeaseAsk[]): Promise<LeaseResult> {
    const args: (string | number)[] = [buckets.length];
    for (const b of buckets) args.push(b.key);
    args.push(windowMs);
    buckets.forEach((b, i) => {
      const ask = asks[i] as LeaseAsk;
      args.push(b.limit, ask.want, ask.giveBack, ask.giveBackWindow);
    });
    const [allowed, wait, bucket, window, ...granted] = await this.redis.mcpFedSlidingLease(...args);
    return allowed === 1
      ? { allowed: true, window: window as number, granted }
      : { allowed: false, retryAfterMs: wait as number, bucket: bucket as number, window: window as number };
  }

  /** The client is shared (app.ts owns it). */
  async close(): Promise<void> {}
}
