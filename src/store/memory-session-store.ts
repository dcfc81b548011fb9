import type { SessionRecord, SessionStore } from './session-store.ts';

/** In-process session store: one replica only. Expired entries are dropped on access and by a sweep. */
export class MemorySessionStore implements SessionStore {
  private readonly entries = new Map<string, { record: SessionRecord; expiresAt: number }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(sweepMs = 60_000) {
    this.sweep = setInterval(() => {
      const now = Date.now();
      for (const [id, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(id);
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
  }
}
