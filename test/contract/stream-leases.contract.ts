import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamLeases } from '../../src/store/stream-leases.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StreamLeasesHarness {
  /** Two replicas' views of the same leases (the same object for memory). */
  a: StreamLeases;
  b: StreamLeases;
  close(): Promise<void>;
}

/** The same assertions for every lease store (memory, Redis). */
export function streamLeasesContract(name: string, make: () => Promise<StreamLeasesHarness>) {
  describe(`${name} stream leases`, () => {
    let h: StreamLeasesHarness | undefined;
    const harness = async () => {
      h ??= await make();
      return h;
    };
    afterAll(async () => {
      await h?.close();
    });

    it('gives a lease to one holder at a time; the holder extends it', async () => {
      const { a, b } = await harness();
      const key = randomUUID();
      expect(await a.acquire(key, 'replica-1', 5_000)).toBe(true);
      expect(await b.acquire(key, 'replica-2', 5_000)).toBe(false);
      expect(await a.acquire(key, 'replica-1', 5_000)).toBe(true);
      expect(await b.acquire(key, 'replica-2', 5_000)).toBe(false);
    });

    it('hands it over once released, and only its holder can release it', async () => {
      const { a, b } = await harness();
      const key = randomUUID();
      await a.acquire(key, 'replica-1', 5_000);
      await b.release(key, 'replica-2');
      expect(await b.acquire(key, 'replica-2', 5_000)).toBe(false);
      await a.release(key, 'replica-1');
      expect(await b.acquire(key, 'replica-2', 5_000)).toBe(true);
      expect(await a.acquire(key, 'replica-1', 5_000)).toBe(false);
    });

    it('lets another take over when the holder stops renewing (it died)', async () => {
      const { a, b } = await harness();
      const key = randomUUID();
      await a.acquire(key, 'replica-1', 150);
      expect(await b.acquire(key, 'replica-2', 150)).toBe(false);
      await sleep(250);
      expect(await b.acquire(key, 'replica-2', 5_000)).toBe(true);
      expect(await a.acquire(key, 'replica-1', 5_000)).toBe(false);
    });

    it('keeps sessions apart', async () => {
      const { a, b } = await harness();
      const [k1, k2] = [randomUUID(), randomUUID()];
      expect(await a.acquire(k1, 'replica-1', 5_000)).toBe(true);
      expect(await b.acquire(k2, 'replica-2', 5_000)).toBe(true);
    });
  });
}
