import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { MemoryVault } from '../../src/store/memory-vault.ts';
import { RedisVault } from '../../src/store/redis-vault.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import { privateRedis, readyRedisClient, type TestRedis } from '../helpers/redis.ts';
import { CONTRACT_SECRET, type VaultHarness, vaultContract } from './vault.contract.ts';

const run = promisify(execFile);

vaultContract('memory', async () => {
  const store = new MemoryVault(new VaultCrypto(CONTRACT_SECRET), silentLogger).store;
  const open = (secret: string) => new MemoryVault(new VaultCrypto(secret), silentLogger, store);
  const vault = open(CONTRACT_SECRET);
  const others: MemoryVault[] = [];
  const harness: VaultHarness = {
    vault,
    async sibling(secret) {
      const v = open(secret);
      others.push(v);
      return v;
    },
    async dump() {
      return [...store]
        .map(([k, e]) => `${k} ${e.blob.toString('latin1')} ${e.blob.toString('utf8')}`)
        .join('\n');
    },
    async tamper(scope, id) {
      const stored = store.get(vault.key(scope, id))!;
      stored.blob[stored.blob.length - 1]! ^= 0x01;
    },
    async copy(from, to) {
      const stored = store.get(vault.key(from.scope, from.id))!;
      store.set(vault.key(to.scope, to.id), { blob: Buffer.from(stored.blob), expiresAt: stored.expiresAt });
    },
    async close() {
      for (const v of [vault, ...others]) await v.close();
    },
  };
  return harness;
});

let redis: TestRedis;
const prefix = `test-vault-${process.pid}-${Date.now()}:`;
const clientFor = (url: string) => readyRedisClient(url, prefix);
const cli = async (url: string, ...args: string[]) => (await run('redis-cli', ['-u', url, ...args])).stdout;

vaultContract('redis', async () => {
  redis = await privateRedis();
  const url = redis.url;
  const raw = new Redis(url);
  const clients: Redis[] = [];
  const open = async (secret: string) => {
    const client = await clientFor(url);
    clients.push(client);
    return new RedisVault(client, new VaultCrypto(secret), { keyPrefix: prefix, log: silentLogger });
  };
  const vault = await open(CONTRACT_SECRET);
  const harness: VaultHarness = {
    vault,
    sibling: (secret) => open(secret),
    // What redis-cli shows an operator: every key of this run and each stored value.
    async dump() {
      const keys = (await cli(url, '--scan', '--pattern', `${prefix}*`)).split('\n').filter(Boolean);
      const values = await Promise.all(keys.map((k) => cli(url, 'GET', k)));
      return keys.map((k, i) => `${k} ${values[i]}`).join('\n');
    },
    async tamper(scope, id) {
      const key = vault.key(scope, id);
      const blob = (await raw.getBuffer(key))!;
      blob[20]! ^= 0x01;
      await raw.set(key, blob, 'KEEPTTL');
    },
    async copy(from, to) {
      const blob = (await raw.getBuffer(vault.key(from.scope, from.id)))!;
      await raw.set(vault.key(to.scope, to.id), blob, 'EX', 60);
    },
    async close() {
      await Promise.allSettled([raw, ...clients].map((c) => c.quit()));
      await redis.stop();
    },
  };
  return harness;
});

describe('redis token vault specifics', () => {
  let own: TestRedis;
  let client: Redis;
  let vault: RedisVault;
  beforeAll(async () => {
    own = await privateRedis({ own: true });
    client = await clientFor(own.url);
    vault = new RedisVault(client, new VaultCrypto(CONTRACT_SECRET), {
      keyPrefix: prefix,
      log: silentLogger,
    });
  });
  afterAll(async () => {
    client.disconnect();
    await own.stop();
  });

  it('lays one scope out under one hash tag and reads a call in one MGET', async () => {
    const scope = 'team-a';
    const entries = ['a@example.com', 'b@example.com', 'c@example.com'].map((value) => ({
      id: vault.tokenId(scope, 'EMAIL', value),
      value,
      entity: 'EMAIL' as const,
    }));
    await vault.put(scope, entries, 60);
    const keys = (await cli(own.url, '--scan', '--pattern', `${prefix}pii:*`)).split('\n').filter(Boolean);
    expect(keys).toHaveLength(3);
    const tags = new Set(keys.map((k) => /\{([0-9a-f]+)\}/.exec(k)?.[1]));
    expect(tags.size).toBe(1);
    const mgets = async () =>
      Number(/cmdstat_mget:calls=(\d+)/.exec(await cli(own.url, 'INFO', 'commandstats'))?.[1] ?? 0);
    const before = await mgets();
    expect(
      (
        await vault.get(
          scope,
          entries.map((e) => e.id),
        )
      ).size,
    ).toBe(3);
    expect((await mgets()) - before).toBe(1);
  });

  it('fails fast while Redis is down and recovers by itself', async () => {
    const e = { id: vault.tokenId('s', 'SSN', '536-22-1234'), value: '536-22-1234', entity: 'SSN' as const };
    await own.stop();
    const t0 = Date.now();
    await expect(vault.put('s', [e], 60)).rejects.toThrow();
    await expect(vault.get('s', [e.id])).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(3_000);
    await own.restart();
    await expect
      .poll(
        async () =>
          vault.put('s', [e], 60).then(
            () => true,
            () => false,
          ),
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    expect((await vault.get('s', [e.id])).get(e.id)).toBe('536-22-1234');
  });
});
