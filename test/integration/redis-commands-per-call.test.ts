/**
 * What a call costs the store (issue 15): Redis commands per call of one warm 2025-era session, counted
 * by Redis itself (`INFO commandstats`) over many calls. Governance off: none (the session touch is at
 * most once per a tenth of its TTL). PII tokenize with the same value in every call: the vault write is
 * cached, so none either. A rate limit on Redis adds its one script call.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { LEGACY, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { privateRedis, readyRedisClient, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

let tools: StartedServer;
let redis: TestRedis;
let probe: Redis;
const apps: App[] = [];
let nextId = 1;
const CALLS = 200;

beforeAll(async () => {
  [tools, redis] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    privateRedis({ own: true }),
  ]);
  probe = await readyRedisClient(redis.url, 'probe:');
}, 60_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  probe.disconnect();
  await Promise.all([tools?.stop(), redis?.stop()]);
});

async function proxy(extra: Record<string, unknown>): Promise<string> {
  const { app, url } = await startProxy({
    upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
    store: { kind: 'redis', url: redis.url, keyPrefix: `mcp-fed-cmds:${randomUUID().slice(0, 8)}:` },
    secrets: { vaultKey: 'redis-commands-test-vault-key-0123456789' },
    ...extra,
  });
  apps.push(app);
  return url;
}

async function session(url: string): Promise<Record<string, string>> {
  const init = await rawPost(url, {
    jsonrpc: '2.0',
    id: nextId++,
    method: 'initialize',
    params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  const headers = {
    'mcp-session-id': init.headers.get('mcp-session-id') ?? '',
    'mcp-protocol-version': LEGACY,
  };
  await rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  return headers;
}

/** Commands Redis ran (all clients) while `work` ran, by name; the probe's own INFO/CONFIG left out. */
async function commandsDuring(work: () => Promise<void>): Promise<Record<string, number>> {
  await probe.config('RESETSTAT');
  await work();
  const stats = (await probe.info('commandstats')).split('\n');
  const out: Record<string, number> = {};
  for (const line of stats) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m?.[1] && !/^(info|config)\b/.test(m[1])) out[m[1]] = Number(m[2]);
  }
  return out;
}

const total = (stats: Record<string, number>) => Object.values(stats).reduce((a, b) => a + b, 0);

async function calls(url: string, headers: Record<string, string>, text: () => string): Promise<void> {
  for (let i = 0; i < CALLS; i++) {
    const reply = await rawPost(
      url,
      {
        jsonrpc: '2.0',
        id: nextId++,
        method: 'tools/call',
        params: { name: 'tools__echo', arguments: { text: text() } },
      },
      headers,
    );
    expect(reply.status).toBe(200);
  }
}

describe('Redis commands per call of a warm 2025-era session', () => {
  it('governance off: none', async () => {
    const url = await proxy({});
    const headers = await session(url);
    await calls(url, headers, () => 'warm-up');
    const stats = await commandsDuring(() => calls(url, headers, () => 'hello'));
    expect(total(stats), JSON.stringify(stats)).toBe(0);
  });

  it('PII tokenize, the same email in every call: none either', async () => {
    const url = await proxy({ pii: { mode: 'tokenize' } });
    const headers = await session(url);
    const text = () => 'write to ada@example.com please';
    await calls(url, headers, text);
    const stats = await commandsDuring(() => calls(url, headers, text));
    expect(total(stats), JSON.stringify(stats)).toBe(0);
  });

  it('a Redis rate limit and PII tokenize on a repeated value: at most one', async () => {
    const url = await proxy({
      pii: { mode: 'tokenize' },
      policies: { rateLimits: [{ callers: ['*'], tools: ['tools__echo'], perMinute: 1_000_000 }] },
    });
    const headers = await session(url);
    const text = () => 'write to ada@example.com please';
    await calls(url, headers, text);
    const stats = await commandsDuring(() => calls(url, headers, text));
    expect(total(stats) / CALLS, JSON.stringify(stats)).toBeLessThanOrEqual(1);
  });
});
