import type { SessionRecord, SessionStore } from './session-store.ts';

/** In-process session store: one replica only. Expired entries are dropped on access and by a sweep. */
export class MemorySessionStore implements SessionStore {
  private readonly entries = new Map<string, { record: SessionRecord; expiresAt: number }>();
  private readonly claims = new Map<string, { sessionId: string; expiresAt: number }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(sweepMs = 60_000) {
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [id, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(id);
      for (const [key, c] of this.claims) if (c.expiresAt <= now) this.claims.delete(key);
    }, sweepMs);
    this.sweep.unref();
  }

  async get(id: string): Promise<SessionRecord | undefined> {
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.expiresAt <= Date.now()) {
      this.entries.delete(id);
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
    return true;
  }

  async delete(id: string): Promise<void> {
    this.entries.delete(id);
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    this.entries.clear();
    this.claims.clear();
  }
}
