import type { Cluster, Redis } from 'ioredis';
import type { Admission, SessionLimits, SessionRecord, SessionStore } from './session-store.ts';

/** KEYS[1] the claim; ARGV: id, replaced id (or ''), ttl. Returns the id that holds the claim. */
const CLAIM = `
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[2] then return held end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return ARGV[1]`;

/**
 * Legacy-client session metadata in Redis, shared by every replica. One key per session,
 * `<prefix>session:{<id>}`: the hash tag keeps a session's keys in one Cluster slot. The value is the
 * record as JSON with the session TTL; `touch` is a single EXPIRE (one round trip, no read). Upstream
 * session claims sit beside it, `<prefix>session:{<id>}:up:<upstream>`, set by one Lua script.
 * Limits: every session's id in `<prefix>sessions` (scored by expiry, so the live ones count) and in its
 * caller's `<prefix>caller:{<caller>}:sessions` (scored by last use, for the least recently used). They
 * sit in other slots than the record, so they are separate commands, never one multi-key script.
 * Errors (Redis down, command timeout) propagate: callers fail closed with STORE_UNAVAILABLE.
 */
export class RedisSessionStore implements SessionStore {
  private connections = 0;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly keyPrefix: string,
  ) {
    redis.on('ready', () => this.connections++);
  }

  key(id: string): string {
    return `${this.keyPrefix}session:{${id}}`;
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const raw = await this.redis.get(this.key(id));
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as SessionRecord;
    } catch {
      return undefined;
    }
  }

  async put(record: SessionRecord, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.key(record.id), JSON.stringify(record), 'EX', Math.max(1, ttlSeconds));
  }

  private get indexKey(): string {
    return `${this.keyPrefix}sessions`;
  }

  private callerKey(caller: string): string {
    return `${this.keyPrefix}caller:{${caller}}:sessions`;
  }

  async admit(record: SessionRecord, ttlSeconds: number, limits: SessionLimits): Promise<Admission> {
    const now = Date.now();
    const ttlMs = Math.max(1, ttlSeconds) * 1000;
    await this.redis.zremrangebyscore(this.indexKey, '-inf', now);
    if ((await this.redis.zcard(this.indexKey)) >= limits.max) return { ok: false };
    const mine = this.callerKey(record.caller);
    const [, , , , count] = await Promise.all([
      this.put(record, ttlSeconds),
      this.redis.zadd(this.indexKey, now + ttlMs, record.id),
      this.redis.zremrangebyscore(mine, '-inf', now - ttlMs),
      this.redis.zadd(mine, now, record.id),
      this.redis.zcard(mine),
      this.redis.pexpire(mine, ttlMs),
    ]);
    const over = Number(count) - limits.maxPerCaller;
    if (over <= 0) return { ok: true, evicted: [] };
    const evicted = (await this.redis.zrange(mine, 0, over - 1)).filter((id) => id !== record.id);
    await Promise.all(evicted.map((id) => this.delete(id, record.caller)));
    return { ok: true, evicted };
  }

  async claim(
    id: string,
    upstream: string,
    sessionId: string,
    ttlSeconds: number,
    replacing?: string,
  ): Promise<string> {
    const key = `${this.key(id)}:up:${upstream}`;
    const ttl = String(Math.max(1, ttlSeconds));
    return String(await this.redis.eval(CLAIM, 1, key, sessionId, replacing ?? '', ttl));
  }

  connection(): number | undefined {
    return this.redis.status === 'ready' ? this.connections : undefined;
  }

  async touch(id: string, ttlSeconds: number, caller?: string): Promise<boolean> {
    const ttl = Math.max(1, ttlSeconds);
    if (caller === undefined) return (await this.redis.expire(this.key(id), ttl)) === 1;
    const now = Date.now();
    const [alive] = await Promise.all([
      this.redis.expire(this.key(id), ttl),
      this.redis.zadd(this.indexKey, 'XX', now + ttl * 1000, id),
      this.redis.zadd(this.callerKey(caller), 'XX', now, id),
    ]);
    return alive === 1;
  }

  async delete(id: string, caller?: string): Promise<void> {
    await Promise.all([
      this.redis.del(this.key(id)),
      this.redis.zrem(this.indexKey, id),
      caller === undefined ? undefined : this.redis.zrem(this.callerKey(caller), id),
    ]);
  }

  /** The client is shared with the other stores; app.ts closes it. */
  async close(): Promise<void> {}
}
