import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type SessionRecord,
  type SessionStore,
  storeUpstreamSession,
} from '../../src/store/session-store.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SessionStoreHarness {
  store: SessionStore;
  /** A second view of the same data (another replica); the same object for memory. */
  sibling: SessionStore;
  close(): Promise<void>;
}

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: randomUUID(),
    caller: 'alice',
    protocolVersion: '2025-11-25',
    clientInfo: { name: 'c', version: '1' },
    clientCapabilities: { sampling: {}, elicitation: { form: {} } },
    upstreamSessions: { tools: 'u-1' },
    createdAt: Date.now(),
    ...overrides,
  };
}

/** The same assertions for every session store implementation (memory, Redis). */
export function sessionStoreContract(name: string, make: () => Promise<SessionStoreHarness>) {
  describe(`${name} session store`, () => {
    let h: SessionStoreHarness | undefined;
    const harness = async () => {
      h ??= await make();
      return h;
    };
    afterAll(async () => {
      await h?.close();
    });

    it('round-trips a record, visible from a sibling, and returns a copy', async () => {
      const { store, sibling } = await harness();
      const r = record();
      await store.put(r, 60);
      expect(await store.get(r.id)).toEqual(r);
      expect(await sibling.get(r.id)).toEqual(r);
      const got = (await store.get(r.id))!;
      got.upstreamSessions.tools = 'changed';
      expect((await store.get(r.id))?.upstreamSessions.tools).toBe('u-1');
    });

    it('one claim of an upstream session wins however many replicas claim at once', async () => {
      const { store, sibling } = await harness();
      const id = randomUUID();
      const claims = await Promise.all(
        ['a', 'b', 'c', 'd'].map((s, i) => (i % 2 ? sibling : store).claim(id, 'tools', `u-${s}`, 60)),
      );
      expect(new Set(claims).size).toBe(1);
      expect(await sibling.claim(id, 'tools', 'u-late', 60)).toBe(claims[0]);
      // Claims are per upstream.
      expect(await store.claim(id, 'files', 'f-1', 60)).toBe('f-1');
    });

    it('a claim naming the id it replaces (one the upstream forgot) takes over', async () => {
      const { store, sibling } = await harness();
      const id = randomUUID();
      await store.claim(id, 'tools', 'u-old', 60);
      expect(await sibling.claim(id, 'tools', 'u-new', 60, 'u-other')).toBe('u-old');
      expect(await sibling.claim(id, 'tools', 'u-new', 60, 'u-old')).toBe('u-new');
      expect(await store.claim(id, 'tools', 'u-third', 60)).toBe('u-new');
    });

    it('storeUpstreamSession: replicas storing at once agree on one id, and the record holds it', async () => {
      const { store, sibling } = await harness();
      const r = record({ upstreamSessions: {} });
      await store.put(r, 60);
      const [fromA, fromB] = await Promise.all([
        storeUpstreamSession(store, r, 'tools', 'u-a', 60),
        storeUpstreamSession(sibling, r, 'tools', 'u-b', 60),
      ]);
      // Exactly one was told another id won, and that id is its sibling's.
      const winner = fromA ?? 'u-a';
      expect(fromB ?? 'u-b').toBe(winner);
      expect([fromA, fromB].filter((x) => x === undefined)).toHaveLength(1);
      expect((await sibling.get(r.id))?.upstreamSessions.tools).toBe(winner);
    });

    it('answers undefined for an unknown id and false when touching it', async () => {
      const { store } = await harness();
      expect(await store.get(randomUUID())).toBeUndefined();
      expect(await store.touch(randomUUID(), 60)).toBe(false);
    });

    it('put replaces a record', async () => {
      const { store } = await harness();
      const r = record();
      await store.put(r, 60);
      await store.put({ ...r, upstreamSessions: { tools: 'u-2' } }, 60);
      expect((await store.get(r.id))?.upstreamSessions).toEqual({ tools: 'u-2' });
    });

    it('delete ends a session everywhere', async () => {
      const { store, sibling } = await harness();
      const r = record();
      await store.put(r, 60);
      await sibling.delete(r.id);
      expect(await store.get(r.id)).toBeUndefined();
      expect(await store.touch(r.id, 60)).toBe(false);
      await store.delete(r.id);
    });

    it('expires after the TTL unless touched', async () => {
      const { store, sibling } = await harness();
      const kept = record();
      const dropped = record();
      await store.put(kept, 1);
      await store.put(dropped, 1);
      await sleep(600);
      expect(await sibling.touch(kept.id, 2)).toBe(true);
      await sleep(700);
      expect(await store.get(dropped.id)).toBeUndefined();
      expect(await store.get(kept.id)).toEqual(kept);
    });

    it('keeps sessions apart under concurrency', async () => {
      const { store } = await harness();
      const rs = Array.from({ length: 50 }, (_, i) => record({ caller: `c${i}` }));
      await Promise.all(rs.map((r) => store.put(r, 60)));
      const got = await Promise.all(rs.map((r) => store.get(r.id)));
      expect(got.map((g) => g?.caller)).toEqual(rs.map((r) => r.caller));
    });

    it("admit: over maxPerCaller the caller's least recently used sessions end; other callers keep theirs", async () => {
      const { store, sibling } = await harness();
      const limits = { maxPerCaller: 3, max: 1_000_000 };
      const other = record({ caller: 'limit-other' });
      expect(await store.admit(other, 60, limits)).toEqual({ ok: true, evicted: [] });
      const mine = Array.from({ length: 5 }, () => record({ caller: 'limit-carol' }));
      const evicted: string[][] = [];
      for (const [i, r] of mine.entries()) {
        await sleep(5);
        // The second session is used again before the fifth arrives: it is no longer the oldest.
        if (i === 4) expect(await sibling.touch(mine[1]!.id, 60, 'limit-carol')).toBe(true);
        await sleep(5);
        const a = await (i % 2 ? sibling : store).admit(r, 60, limits);
        evicted.push(a.ok ? a.evicted : ['refused']);
      }
      expect(evicted).toEqual([[], [], [], [mine[0]!.id], [mine[2]!.id]]);
      expect(await store.get(mine[0]!.id)).toBeUndefined();
      expect(await sibling.get(mine[2]!.id)).toBeUndefined();
      for (const r of [mine[1], mine[3], mine[4], other]) expect(await store.get(r!.id)).toEqual(r);
    });

    it('admit: refuses a new session once max sessions live, and admits again when one ends', async () => {
      const { store, sibling } = await harness();
      const a = record({ caller: 'full-a' });
      const b = record({ caller: 'full-b' });
      expect((await store.admit(a, 60, { maxPerCaller: 10, max: 1_000_000 })).ok).toBe(true);
      expect((await store.admit(b, 60, { maxPerCaller: 10, max: 1_000_000 })).ok).toBe(true);
      // Whatever else this store holds counts: find the `max` at which one more just fits.
      const probe = record({ caller: 'probe' });
      let max = 1;
      while (!(await sibling.admit(probe, 60, { maxPerCaller: 10, max })).ok) max++;
      const c = record({ caller: 'full-c' });
      expect(await store.admit(c, 60, { maxPerCaller: 10, max })).toEqual({ ok: false });
      expect(await store.get(c.id)).toBeUndefined();
      await store.delete(a.id, 'full-a');
      expect((await store.admit(c, 60, { maxPerCaller: 10, max })).ok).toBe(true);
    });
  });
}
