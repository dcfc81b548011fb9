import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { DirectMessage, ReplicaBus, ReplicaMessage } from '../../src/store/replica-bus.ts';
import { eventually } from '../helpers/federation.ts';

export interface ReplicaBusHarness {
  /** Two replicas on one store. */
  a: ReplicaBus;
  b: ReplicaBus;
  close(): Promise<void>;
}

/** The assertions every shared replica bus meets (single Redis, Cluster, Sentinel). */
export function replicaBusContract(name: string, make: () => Promise<ReplicaBusHarness>) {
  describe(`${name} replica bus`, () => {
    let h: ReplicaBusHarness | undefined;
    const harness = async () => {
      if (!h) {
        h = await make();
        const { a, b } = h;
        // Subscriptions are made on connect: wait until each replica hears the other.
        await eventually(
          async () => expect(await a.sendTo(b.replicaId, { kind: 'ping' })).toBe(true),
          15_000,
          50,
        );
        await eventually(
          async () => expect(await b.sendTo(a.replicaId, { kind: 'ping' })).toBe(true),
          15_000,
          50,
        );
      }
      return h;
    };
    afterAll(async () => {
      await h?.close();
    });

    it('delivers a session change to the other replica, never back to its sender', async () => {
      const { a, b } = await harness();
      const atA: ReplicaMessage[] = [];
      const atB: ReplicaMessage[] = [];
      a.onMessage((m) => atA.push(m));
      b.onMessage((m) => atB.push(m));
      const msg = { session: randomUUID(), subscriptions: ['file:///a'] };
      await a.publish(msg);
      await eventually(() => expect(atB.map((m) => m.session)).toContain(msg.session));
      await new Promise((r) => setTimeout(r, 100));
      expect(atA.map((m) => m.session)).not.toContain(msg.session);
    });

    it('sends to one replica by id, and says false for an id nobody has', async () => {
      const { a, b } = await harness();
      const got: DirectMessage[] = [];
      b.onDirect((m) => got.push(m));
      const tag = randomUUID();
      expect(await a.sendTo(b.replicaId, { kind: 'test', tag })).toBe(true);
      await eventually(() => expect(got.map((m) => m.tag)).toContain(tag));
      expect(await a.sendTo(randomUUID(), { kind: 'test', tag })).toBe(false);
    });

    it('broadcasts to every other replica and counts them', async () => {
      const { a, b } = await harness();
      const atA: DirectMessage[] = [];
      const atB: DirectMessage[] = [];
      a.onBroadcast((m) => atA.push(m));
      b.onBroadcast((m) => atB.push(m));
      const tag = randomUUID();
      expect(await a.broadcast({ kind: 'test', tag })).toBe(1);
      await eventually(() => expect(atB.map((m) => m.tag)).toContain(tag));
      await new Promise((r) => setTimeout(r, 100));
      expect(atA.map((m) => m.tag)).not.toContain(tag);
    });
  });
}
