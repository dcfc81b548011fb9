/** The sliding-window contract on a real redis-server (test/helpers/redis.ts), exact and leased. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeasedWindowStore, RedisWindowStore } from '../../src/hooks/rate-limit/index.ts';
import type { LeaseAsk } from '../../src/store/redis-window-store.ts';
import type { Bucket } from '../../src/store/window-store.ts';
import { windowStoreContract } from '../contract/window-store.contract.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';

let server: TestRedis;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await privateRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await server?.stop();
});

const client = () => {
  const c = new Redis(server.url);
  clients.push(c);
  return c;
};

windowStoreContract('redis', async () => new RedisWindowStore(client()));
windowStoreContract('redis, leased', async () => new LeasedWindowStore(new RedisWindowStore(client())));

/** A Redis store that counts its round trips. */
class Counted extends RedisWindowStore {
  trips = 0;
  override lease(buckets: readonly Bucket[], windowMs: number, asks: readonly LeaseAsk[]) {
    this.trips++;
    return super.lease(buckets, windowMs, asks);
  }
}

describe('leased Redis rate limits across two replicas', () => {
  it('never lets more than the limit through together, wastes at most a lease each, and rarely asks Redis', async () => {
    const limit = 1_200; // a lease is at most limit × 250 ms / 60 s = 5 units
    const bucket = [{ key: `lease-test:${Date.now()}`, limit }];
    const remotes = [new Counted(client()), new Counted(client())];
    const replicas = remotes.map((r) => new LeasedWindowStore(r));
    let allowed = 0;
    // Both replicas call as fast as they can, interleaved, well past the limit.
    await Promise.all(
      replicas.map(async (store) => {
        for (let i = 0; i < 1_000; i++) if ((await store.hit(bucket, 60_000)).allowed) allowed++;
      }),
    );
    expect(allowed).toBeLessThanOrEqual(limit);
    expect(allowed).toBeGreaterThanOrEqual(limit - 2 * 5);
    const trips = remotes.reduce((n, r) => n + r.trips, 0);
    // Under the limit a round trip serves a lease of up to 5 calls; past it every refusal asks Redis.
    expect(trips).toBeLessThan(limit / 3 + (2_000 - allowed));
  });

  it('gives unspent units back, so a quiet replica does not starve a busy one', async () => {
    let t = 1_000_000;
    const limit = 2_400; // leases of up to 10
    const bucket = [{ key: `lease-back:${Date.now()}`, limit }];
    const quiet = new LeasedWindowStore(new RedisWindowStore(client()), () => t);
    const busy = new LeasedWindowStore(new RedisWindowStore(client()));
    // The quiet replica's lease grows while it is busy for a moment, then it goes quiet.
    for (let i = 0; i < 40; i++) expect((await quiet.hit(bucket, 60_000)).allowed).toBe(true);
    t += 1_000; // its lease has expired; its next lease gives the rest back
    expect((await quiet.hit(bucket, 60_000)).allowed).toBe(true);
    let allowed = 0;
    for (let i = 0; i < limit; i++) if ((await busy.hit(bucket, 60_000)).allowed) allowed++;
    // Everything the quiet one did not spend is the busy one's, less the quiet one's new lease (10, one
    // of them spent). Without the give-back the units its expired lease held would be lost as well.
    expect(allowed).toBeGreaterThanOrEqual(limit - 41 - 9);
  });
});
