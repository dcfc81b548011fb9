import type { Admission, SessionLimits, SessionRecord, SessionStore } from './session-store.ts';

/** In-process session store: one replica only. Expired entries are dropped on access and by a sweep. */
export class MemorySessionStore implements SessionStore {
  private readonly entries = new Map<string, { record: SessionRecord; expiresAt: number }>();
  private readonly claims = new Map<string, { sessionId: string; expiresAt: number }>();
  /** Per caller, its session ids in least-recently-used order (a Map keeps insertion order). */
  private readonly byCaller = new Map<string, Map<string, true>>();
  private readonly sweep: NodeJS.Timeout;

  constructor(sweepMs = 60_000) {
    this.sweep = setInterval(() => {
      const now = Date.now();
      this.dropExpired(now);
      for (const [key, c] of this.claims) if (c.expiresAt <= now) this.claims.delete(key);
    }, sweepMs);
    this.sweep.unref();
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.drop(id, e.record.caller);
      return undefined;
    }
    return structuredClone(e.record);
  }

  async put(record: SessionRecord, ttlSeconds: number): Promise<void> {
    this.entries.set(record.id, {
      record: structuredClone(record),
      expiresAt: Date.now() + ttlSeconds * 1000,
    });
  }

  async admit(record: SessionRecord, ttlSeconds: number, limits: SessionLimits): Promise<Admission> {
    if (this.entries.size >= limits.max) this.dropExpired(Date.now());
    if (this.entries.size >= limits.max) return { ok: false };
    await this.put(record, ttlSeconds);
    const mine = this.byCaller.get(record.caller) ?? new Map<string, true>();
    this.byCaller.set(record.caller, mine);
    mine.set(record.id, true);
    const evicted: string[] = [];
    for (const id of mine.keys()) {
      if (mine.size <= limits.maxPerCaller) break;
      this.drop(id, record.caller);
      evicted.push(id);
    }
    return { ok: true, evicted };
  }

  private dropExpired(now: number): void {
    for (const [id, e] of this.entries) if (e.expiresAt <= now) this.drop(id, e.record.caller);
  }

  /** A session gone (expired or deleted): out of the entries and out of its caller's count. */
  private drop(id: string, caller: string): void {
    this.entries.delete(id);
    const mine = this.byCaller.get(caller);
    mine?.delete(id);
    if (mine?.size === 0) this.byCaller.delete(caller);
  }

  async claim(
    id: string,
    upstream: string,
    sessionId: string,
    ttlSeconds: number,
    replacing?: string,
  ): Promise<string> {
    const key = `${id}\0${upstream}`;
    const now = Date.now();
    const held = this.claims.get(key);
    if (held && held.expiresAt > now && held.sessionId !== replacing) return held.sessionId;
    this.claims.set(key, { sessionId, expiresAt: now + ttlSeconds * 1000 });
    return sessionId;
  }

  connection(): number | undefined {
    return 0;
  }

  async touch(id: string, ttlSeconds: number): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e || e.expiresAt <= Date.now()) return false;
    e.expiresAt = Date.now() + ttlSeconds * 1000;
    // Most recently used last.
    const mine = this.byCaller.get(e.record.caller);
    if (mine?.delete(id)) mine.set(id, true);
    return true;
  }

  async delete(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (e) this.drop(id, e.record.caller);
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.entries.clear();
    this.claims.clear();
    this.byCaller.clear();
  }
}
