import type { Redis } from 'ioredis';
import type { Bucket, HitResult, WindowStore } from './window-store.ts';

/**
 * All buckets of one call in one atomic script, so a call costs one Redis round trip however many
 * rules apply. The clock is Redis' own (TIME), so replicas with drifting clocks share one window.
 * Each bucket is a hash {w: window index, c: count, p: previous window's count}. Same arithmetic as
 * window-store.ts.
 */
const SCRIPT = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local w = math.floor(now / ms)
local elapsed = now - w * ms
local cur, prev = {}, {}
local worst, worstWait = -1, 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[i + 1])
  local v = redis.call('HMGET', KEYS[i], 'w', 'c', 'p')
  local sw, c, p = tonumber(v[1]), tonumber(v[2]) or 0, tonumber(v[3]) or 0
  if sw == w - 1 then p = c; c = 0
  elseif sw ~= w then c = 0; p = 0 end
  cur[i], prev[i] = c, p
  if p * (ms - elapsed) / ms + c + 1 > limit then
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
if worst >= 0 then return {0, worstWait, worst} end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'w', w, 'c', cur[i] + 1, 'p', prev[i])
  redis.call('PEXPIRE', KEYS[i], ms * 2)
end
return {1, 0, -1}
`;

type WithScript = Redis & {
  mcpFedSlidingHit(...args: (string | number)[]): Promise<[number, number, number]>;
};

/** Sliding-window counters shared by every replica on one Redis (keys already carry store.keyPrefix). */
export class RedisWindowStore implements WindowStore {
  private readonly redis: WithScript;

  constructor(redis: Redis) {
    if (!('mcpFedSlidingHit' in redis)) redis.defineCommand('mcpFedSlidingHit', { lua: SCRIPT });
    this.redis = redis as WithScript;
  }

  async hit(buckets: readonly Bucket[], windowMs: number): Promise<HitResult> {
    const args: (string | number)[] = [buckets.length];
    for (const b of buckets) args.push(b.key);
    args.push(windowMs);
    for (const b of buckets) args.push(b.limit);
    const [allowed, wait, bucket] = await this.redis.mcpFedSlidingHit(...args);
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: wait, bucket };
  }

  /** The client is shared (app.ts owns it). */
  async close(): Promise<void> {}
}
