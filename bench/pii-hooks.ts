/**
 * Per-call cost of the PII hooks (pre + post) on 200 B tool arguments, without PII and with 5 PII values,
 * against the memory vault (pure hook CPU) and a Redis vault (REDIS_URL, or a private redis-server).
 *   node --import tsx bench/pii-hooks.ts
 */
import { ConfigSchema } from '../src/config/schema.ts';
import { createPiiHooks } from '../src/hooks/pii/index.ts';
import type { TokenVault } from '../src/hooks/pii/vault.ts';
import type { CallContext, McpCall, PostHook, PreHook } from '../src/hooks/pipeline.ts';
import { silentLogger } from '../src/log.ts';
import { MemoryVault } from '../src/store/memory-vault.ts';
import { createRedisClient } from '../src/store/redis-client.ts';
import { RedisVault } from '../src/store/redis-vault.ts';
import { VaultCrypto } from '../src/store/vault-crypto.ts';
import { Metrics } from '../src/telemetry/metrics.ts';
import { privateRedis } from '../test/helpers/redis.ts';

// 200 B of JSON arguments each; the clean one has digits (a date, a version, ids) but no PII.
const CLEAN = {
  text: 'Quarterly report for the platform team: build 4821 passed, release v2.10.4 shipped on 2024-01-15; ticket OPS-1187 closed. Next review in two weeks, budget unchanged, owner: platform ops.',
};
const WITH_PII = {
  text: 'Refund order 7731 to bob@example.com, phone +44 20 7946 0958, card 4242 4242 4242 4242, IBAN DE89 3704 0044 0532 0130 00, the request came in from 192.0.2.44 at noon, please confirm',
};
const CLEAN_4K = { text: CLEAN.text.repeat(23).slice(0, 4086) };

const ctx = (): CallContext => ({
  requestId: 'r',
  caller: { id: 'alice', groups: [] },
  era: 'modern',
  hops: 1,
  decision: 'allow',
  tokenIds: [],
  hookMs: 0,
});
const call = (args: object): McpCall => ({
  method: 'tools/call',
  publicName: 'tools__echo',
  upstream: 'tools',
  upstreamName: 'echo',
  params: { name: 'echo', arguments: args },
});

async function once(pre: PreHook, post: PostHook, args: object): Promise<void> {
  const c = ctx();
  const out = await pre.before(call(args), c);
  if (out.kind === 'reject') throw out.error;
  const sent = (out.kind === 'mutate' ? out.value.params.arguments : args) as { text: string };
  const r = await post.after(call(sent), { content: [{ type: 'text', text: sent.text }] }, c);
  if (r.kind === 'reject') throw r.error;
}

async function measure(label: string, vault: TokenVault, args: object, n: number) {
  const config = ConfigSchema.parse({ pii: { mode: 'tokenize' } }).pii;
  const { pre, post } = createPiiHooks(config, { vault, metrics: new Metrics(), log: silentLogger })!;
  for (let i = 0; i < Math.min(n, 2000); i++) await once(pre, post!, args);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once(pre, post!, args);
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const us = (ms: number) => (ms * 1000).toFixed(1).padStart(7);
  const q = (p: number) => times[Math.floor(p * (times.length - 1))]!;
  console.log(
    `${label.padEnd(34)} bytes ${String(JSON.stringify(args).length).padStart(4)}  p50 ${us(q(0.5))} µs  p99 ${us(q(0.99))} µs  cpu ${((cpu.user + cpu.system) / n).toFixed(1).padStart(6)} µs/call`,
  );
}

const memory = new MemoryVault(new VaultCrypto('bench-vault-key-0123456789'), silentLogger);
await measure('memory vault, no PII', memory, CLEAN, 20_000);
await measure('memory vault, 5 PII values', memory, WITH_PII, 20_000);
await measure('memory vault, 4 KiB, no PII', memory, CLEAN_4K, 5_000);

const redis = await privateRedis();
const client = createRedisClient({ kind: 'redis', url: redis.url, keyPrefix: 'bench:' });
await new Promise((r) => client.once('ready', r));
const remote = new RedisVault(client, new VaultCrypto('bench-vault-key-0123456789'), {
  keyPrefix: 'bench:',
  log: silentLogger,
});
await measure('redis vault, no PII', remote, CLEAN, 5_000);
await measure('redis vault, 5 PII values (2 RTT)', remote, WITH_PII, 5_000);
client.disconnect();
await redis.stop();
await memory.close();
