/**
 * Every Redis-backed store's contract suite on a real 3-master Redis Cluster and on a Sentinel-managed
 * master with one replica (DESIGN.md, "Redis"): the same assertions as on one Redis, through the
 * production client (`createRedisClient` with `store.cluster` / `store.sentinels`). Keys one operation
 * touches share a hash tag, or the cluster answers CROSSSLOT and the suite fails.
 */
import { afterAll } from 'vitest';
import type { RedisStoreConfig } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';
import { LeasedWindowStore } from '../../src/store/leased-window-store.ts';
import { createRedisClient, type RedisClient } from '../../src/store/redis-client.ts';
import { RedisGrantStore } from '../../src/store/redis-grant-store.ts';
import { redisReady } from '../../src/store/redis-ready.ts';
import { RedisSessionStore } from '../../src/store/redis-session-store.ts';
import { RedisVault } from '../../src/store/redis-vault.ts';
import { RedisWindowStore } from '../../src/store/redis-window-store.ts';
import { RedisReplicaBus } from '../../src/store/replica-bus.ts';
import { RedisStreamLeases } from '../../src/store/stream-leases.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import {
  startRedisCluster,
  startRedisSentinel,
  type TestCluster,
  type TestSentinel,
} from '../helpers/redis-topologies.ts';
import { grantStoreContract } from './grant-store.contract.ts';
import { replicaBusContract } from './replica-bus.contract.ts';
import { sessionStoreContract } from './session-store.contract.ts';
import { streamLeasesContract } from './stream-leases.contract.ts';
import { CONTRACT_SECRET, vaultContract } from './vault.contract.ts';
import { windowStoreContract } from './window-store.contract.ts';

const prefix = `test-topology-${process.pid}:`;
let cluster: Promise<TestCluster> | undefined;
let sentinel: Promise<TestSentinel> | undefined;
const clients: RedisClient[] = [];

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.quit()));
  await Promise.allSettled([cluster?.then((c) => c.stop()), sentinel?.then((s) => s.stop())]);
}, 30_000);

const topologies: Record<string, () => Promise<RedisStoreConfig>> = {
  cluster: async () => {
    cluster ??= startRedisCluster(3);
    return { kind: 'redis', cluster: (await cluster).urls, keyPrefix: prefix };
  },
  sentinel: async () => {
    sentinel ??= startRedisSentinel();
    const s = await sentinel;
    return { kind: 'redis', sentinels: s.sentinels, name: s.name, keyPrefix: prefix };
  },
};

async function client(store: RedisStoreConfig): Promise<RedisClient> {
  const c = createRedisClient(store);
  c.on('error', () => {});
  clients.push(c);
  if (!(await redisReady(c, 15_000))) throw new Error('the Redis topology did not become ready');
  return c;
}

/** Every key of this run with its value, across all masters of a cluster (what an operator could read). */
async function dump(c: RedisClient, under: string): Promise<string> {
  const nodes = 'nodes' in c ? c.nodes('master') : [c];
  const lines: string[] = [];
  for (const node of nodes) {
    for (const key of await node.keys(`${under}*`))
      lines.push(`${key} ${(await node.getBuffer(key))?.toString('latin1') ?? ''}`);
  }
  return lines.join('\n');
}

/** Like dump, for hashes too (a grant store keeps one hash per upstream). */
async function dumpAll(c: RedisClient, under: string): Promise<string> {
  const nodes = 'nodes' in c ? c.nodes('master') : [c];
  const lines: string[] = [];
  for (const node of nodes) {
    for (const key of await node.keys(`${under}*`)) {
      const value =
        (await node.type(key)) === 'hash'
          ? Object.entries(await node.hgetallBuffer(key))
              .map(([f, v]) => `${f}=${v.toString('latin1')}`)
              .join(' ')
          : ((await node.getBuffer(key))?.toString('latin1') ?? '');
      lines.push(`${key} ${value}`);
    }
  }
  return lines.join('\n');
}

for (const [name, storeOf] of Object.entries(topologies)) {
  sessionStoreContract(`redis ${name}`, async () => {
    const store = await storeOf();
    const [a, b] = [await client(store), await client(store)];
    return {
      store: new RedisSessionStore(a, prefix),
      sibling: new RedisSessionStore(b, prefix),
      close: async () => {},
    };
  });

  replicaBusContract(`redis ${name}`, async () => {
    const store = await storeOf();
    const [pa, pb] = [await client(store), await client(store)];
    const a = new RedisReplicaBus(pa, store, silentLogger);
    const b = new RedisReplicaBus(pb, store, silentLogger);
    return { a, b, close: async () => void (await Promise.allSettled([a.close(), b.close()])) };
  });

  streamLeasesContract(`redis ${name}`, async () => {
    const store = await storeOf();
    const [a, b] = [await client(store), await client(store)];
    return {
      a: new RedisStreamLeases(a, prefix),
      b: new RedisStreamLeases(b, prefix),
      close: async () => {},
    };
  });

  windowStoreContract(`redis ${name}`, async () => new RedisWindowStore(await client(await storeOf())));
  windowStoreContract(
    `redis ${name}, leased`,
    async () => new LeasedWindowStore(new RedisWindowStore(await client(await storeOf()))),
  );

  grantStoreContract(`redis ${name}`, async () => {
    const store = await storeOf();
    const raw = await client(store);
    const keyPrefix = `${prefix}grants-${name}:`;
    const open = async (secret: string) =>
      new RedisGrantStore(await client(store), new VaultCrypto(secret), keyPrefix);
    return {
      a: await open(CONTRACT_SECRET),
      b: await open(CONTRACT_SECRET),
      otherKey: () => open(`${CONTRACT_SECRET}-other`),
      dump: () => dumpAll(raw, keyPrefix),
      close: async () => {},
    };
  });

  vaultContract(`redis ${name}`, async () => {
    const store = await storeOf();
    const raw = await client(store);
    // A prefix of its own: the dump reads every key under it as a string.
    const keyPrefix = `${prefix}vault-${name}:`;
    const open = async (secret: string) =>
      new RedisVault(await client(store), new VaultCrypto(secret), { keyPrefix, log: silentLogger });
    const vault = await open(CONTRACT_SECRET);
    return {
      vault,
      sibling: open,
      dump: () => dump(raw, keyPrefix),
      async tamper(scope, id) {
        const key = vault.key(scope, id);
        const blob = (await raw.getBuffer(key)) as Buffer;
        blob[20]! ^= 0x01;
        await raw.set(key, blob, 'KEEPTTL');
      },
      async copy(from, to) {
        const blob = (await raw.getBuffer(vault.key(from.scope, from.id))) as Buffer;
        await raw.set(vault.key(to.scope, to.id), blob, 'EX', 60);
      },
      close: async () => {},
    };
  });
}
