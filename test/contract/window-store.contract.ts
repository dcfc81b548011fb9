import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { WindowStore } from '../../src/hooks/rate-limit/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The same assertions for every sliding-window store implementation (memory, Redis). */
export function windowStoreContract(name: string, make: () => Promise<WindowStore>) {
  describe(`${name} window store`, () => {
    const stores: WindowStore[] = [];
    const store = async () => {
      const s = await make();
      stores.push(s);
      return s;
    };
    const key = () => `contract:${randomUUID()}`;
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });

    it('allows up to the limit, then refuses with a retry-after within two windows', async () => {
      const s = await store();
      const b = [{ key: key(), limit: 3 }];
      for (let i = 0; i < 3; i++) expect(await s.hit(b, 60_000)).toEqual({ allowed: true });
      const refused = await s.hit(b, 60_000);
      expect(refused.allowed).toBe(false);
      if (refused.allowed) return;
      expect(refused.bucket).toBe(0);
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(120_000);
    });

    it('keeps buckets apart', async () => {
      const s = await store();
      const a = [{ key: key(), limit: 1 }];
      const b = [{ key: key(), limit: 1 }];
      expect((await s.hit(a, 60_000)).allowed).toBe(true);
      expect((await s.hit(b, 60_000)).allowed).toBe(true);
      expect((await s.hit(a, 60_000)).allowed).toBe(false);
    });

    it('counts a call in all of its buckets or in none', async () => {
      const s = await store();
      // One call's buckets share a hash tag (the rate-limit hook keys them so), or a cluster refuses them.
      const tag = `{call-${key()}}`;
      const tight = { key: `${tag}:${key()}`, limit: 1 };
      const loose = { key: `${tag}:${key()}`, limit: 3 };
      expect((await s.hit([loose, tight], 60_000)).allowed).toBe(true);
      const refused = await s.hit([loose, tight], 60_000);
      expect(refused).toMatchObject({ allowed: false, bucket: 1 });
      // The refused call did not count in the loose bucket: two more fit there, then no more.
      expect((await s.hit([loose], 60_000)).allowed).toBe(true);
      expect((await s.hit([loose], 60_000)).allowed).toBe(true);
      expect((await s.hit([loose], 60_000)).allowed).toBe(false);
    });

    it('has room again once the retry-after has passed (the window slides)', async () => {
      const s = await store();
      const b = [{ key: key(), limit: 2 }];
      const windowMs = 400;
      expect((await s.hit(b, windowMs)).allowed).toBe(true);
      expect((await s.hit(b, windowMs)).allowed).toBe(true);
      const refused = await s.hit(b, windowMs);
      expect(refused.allowed).toBe(false);
      if (refused.allowed) return;
      expect(refused.retryAfterMs).toBeLessThanOrEqual(2 * windowMs);
      await sleep(refused.retryAfterMs + 30);
      expect((await s.hit(b, windowMs)).allowed).toBe(true);
    });

    it('is atomic under concurrent hits: exactly the limit gets through', async () => {
      const s = await store();
      const b = [{ key: key(), limit: 25 }];
      const results = await Promise.all(Array.from({ length: 60 }, () => s.hit(b, 60_000)));
      expect(results.filter((r) => r.allowed)).toHaveLength(25);
    });
  });
}
