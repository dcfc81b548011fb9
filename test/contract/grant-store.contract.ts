import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrantKey, GrantStore, UserGrant } from '../../src/store/grant-store.ts';

export interface GrantStoreHarness {
  /** Two replicas' views of one store (the same object for memory). */
  a: GrantStore;
  b: GrantStore;
  /** Another store over the same data sealed with another key (a replica with the wrong vaultKey). */
  otherKey(): Promise<GrantStore>;
  /** Everything someone with read access to the store sees, as text (keys and stored bytes). */
  dump(): Promise<string>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const key = (over: Partial<GrantKey> = {}): GrantKey => ({
  upstream: `up-${randomUUID().slice(0, 8)}`,
  binding: 'binding-1',
  caller: `user-${randomUUID()}`,
  ...over,
});
const grant = (over: Partial<UserGrant> = {}): UserGrant => ({
  accessToken: `at-${randomUUID()}`,
  refreshToken: `rt-${randomUUID()}`,
  expiresAt: Date.now() + 60_000,
  scope: 'repo',
  sub: 'someone',
  ...over,
});

/** The one suite every GrantStore implementation passes. */
export function grantStoreContract(name: string, make: () => Promise<GrantStoreHarness>): void {
  describe(`${name} grant store`, () => {
    let h: GrantStoreHarness;
    beforeAll(async () => {
      h = await make();
    });
    afterAll(async () => {
      await h?.close();
    });

    it('keeps a grant per (upstream, binding, caller), seen by every replica, until deleted', async () => {
      const k = key();
      const g = grant({ sub: k.caller });
      await h.a.put(k, g);
      expect(await h.b.get(k)).toEqual(g);
      expect(await h.b.get({ ...k, caller: `${k.caller}x` })).toBeUndefined();
      // Another binding (a reload that points the name elsewhere) finds nothing.
      expect(await h.b.get({ ...k, binding: 'binding-2' })).toBeUndefined();
      expect(await h.a.count(k.upstream)).toBe(1);
      expect(await h.b.delete(k)).toBe(true);
      expect(await h.a.delete(k)).toBe(false);
      expect(await h.a.get(k)).toBeUndefined();
      expect(await h.a.count(k.upstream)).toBe(0);
    });

    it('counts the grants of one upstream', async () => {
      const upstream = `up-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 3; i++) await h.a.put(key({ upstream }), grant());
      await h.a.put(key(), grant());
      expect(await h.b.count(upstream)).toBe(3);
    });

    it('stores no token, refresh token or caller id in the clear, and opens with no other key', async () => {
      const k = key({ caller: `visible-caller-${randomUUID()}` });
      const g = grant();
      await h.a.put(k, g);
      const seen = await h.dump();
      expect(seen).not.toContain(g.accessToken);
      expect(seen).not.toContain(g.refreshToken);
      expect(seen).not.toContain(k.caller);
      const wrong = await h.otherKey();
      expect(await wrong.get(k)).toBeUndefined();
    });

    it('lets one holder at a time take the refresh lock, which expires', async () => {
      const k = key();
      expect(await h.a.lock(k, 'replica-1', 300)).toBe(true);
      expect(await h.b.lock(k, 'replica-2', 300)).toBe(false);
      expect(await h.a.lock(k, 'replica-1', 300)).toBe(true);
      await h.b.unlock(k, 'replica-2'); // not its lock: nothing happens
      expect(await h.b.lock(k, 'replica-2', 300)).toBe(false);
      await h.a.unlock(k, 'replica-1');
      expect(await h.b.lock(k, 'replica-2', 100)).toBe(true);
      await sleep(200);
      expect(await h.a.lock(k, 'replica-1', 300)).toBe(true);
    });

    it('hands a one-time record to exactly one taker, and forgets it when it expires', async () => {
      const id = `state:${randomUUID()}`;
      await h.a.putOnce(id, '{"caller":"alice"}', 5_000);
      expect(await h.b.peekOnce(id)).toBe('{"caller":"alice"}');
      const [first, second] = await Promise.all([h.a.takeOnce(id), h.b.takeOnce(id)]);
      expect([first, second].filter((v) => v !== undefined)).toEqual(['{"caller":"alice"}']);
      expect(await h.a.peekOnce(id)).toBeUndefined();
      const short = `state:${randomUUID()}`;
      await h.a.putOnce(short, 'soon gone', 50);
      await sleep(150);
      expect(await h.b.takeOnce(short)).toBeUndefined();
      expect(await h.a.takeOnce(`state:${randomUUID()}`)).toBeUndefined();
    });
  });
}
