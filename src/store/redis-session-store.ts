import type { Cluster, Redis } from 'ioredis';
import type { SessionRecord, SessionStore } from './session-store.ts';

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

  async touch(id: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.expire(this.key(id), Math.max(1, ttlSeconds))) === 1;
  }

  async delete(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }

  /** The client is shared with the other stores; app.ts closes it. */
  async close(): Promise<void> {}
}
