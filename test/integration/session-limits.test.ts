/**
 * Limits that keep a flood out (issue 14): one caller opening 2025-era sessions in a loop keeps at most
 * `sessions.maxPerCaller` of them (its least recently used end), the process's memory stays flat, other
 * callers' sessions are untouched; over `sessions.max` an initialize gets 503 + Retry-After. On memory
 * (one replica) and on Redis, where the limits are shared by two replicas.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { LEGACY, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { legacyInitialize } from '../helpers/raw-http.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const KEYS = { flood: 'limits-key-flood-0123456', calm: 'limits-key-calm-01234567' };
let tools: StartedServer;
let redis: TestRedis;

beforeAll(async () => {
  [tools, redis] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    privateRedis({ own: true }),
  ]);
}, 30_000);
afterAll(async () => {
  await Promise.all([tools?.stop(), redis?.stop()]);
});

const config = (store: Record<string, unknown>, sessions: Record<string, number>) => ({
  upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
  store,
  sessions,
  inbound: {
    auth: {
      kind: 'apiKeys',
      keys: [
        { key: KEYS.flood, caller: 'flood' },
        { key: KEYS.calm, caller: 'calm' },
      ],
    },
  },
});

async function initialize(url: string, who: keyof typeof KEYS) {
  const reply = await legacyInitialize(url, { 'x-api-key': KEYS[who] });
  return { status: reply.status, id: reply.headers.get('mcp-session-id'), reply };
}

async function echo(url: string, who: keyof typeof KEYS, session: string) {
  const reply = await rawPost(
    url,
    {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'tools__echo', arguments: { text: 'still' } },
    },
    { 'x-api-key': KEYS[who], 'mcp-session-id': session, 'mcp-protocol-version': LEGACY },
  );
  return reply.status;
}

async function flood(urls: string[], n: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const i = next++;
        const { status, id } = await initialize(urls[i % urls.length]!, 'flood');
        expect(status).toBe(200);
        ids.push(id!);
      }
    }),
  );
  return ids;
}

const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

describe('session limits', () => {
  it('memory store: 3,000 initializes of one caller leave at most maxPerCaller; memory flat; others untouched', async () => {
    const { app, url } = await startProxy(config({ kind: 'memory' }, { maxPerCaller: 20, max: 100_000 }));
    try {
      const calm = await initialize(url, 'calm');
      await flood([url], 500);
      const after500 = heapMb();
      const ids = await flood([url], 2_500);
      const after3000 = heapMb();
      // Unbounded, 2,500 more sessions would hold tens of MB (about 12 KB each).
      expect(after3000 - after500).toBeLessThan(8);
      expect(app.endpoint.sessions.size).toBeLessThanOrEqual(21);
      const metrics = await (await fetch(new URL('/metrics', url))).text();
      expect(metrics).toMatch(/mcp_fed_sessions\{state="evicted"\} 29[89]\d/);
      expect(Number(/mcp_fed_sessions\{state="live"\} (\d+)/.exec(metrics)?.[1])).toBeLessThanOrEqual(21);
      // The newest sessions work; the oldest ended (404, the client starts over); the calm caller is untouched.
      expect(await echo(url, 'flood', ids.at(-1)!)).toBe(200);
      expect(await echo(url, 'flood', ids[0]!)).toBe(404);
      expect(await echo(url, 'calm', calm.id!)).toBe(200);
    } finally {
      await app.close();
    }
  }, 120_000);

  it('Redis store: the limits are shared by two replicas; over sessions.max an initialize gets 503', async () => {
    const store = { kind: 'redis', url: redis.url, keyPrefix: 'limits:' };
    const started = await Promise.all(
      [0, 1].map(() => startProxy(config(store, { maxPerCaller: 10, max: 40 }))),
    );
    const apps: App[] = started.map((s) => s.app);
    const urls = started.map((s) => s.url);
    try {
      const calm = await initialize(urls[0]!, 'calm');
      const ids = await flood(urls, 300);
      expect(await echo(urls[1]!, 'flood', ids.at(-1)!)).toBe(200);
      expect(await echo(urls[0]!, 'flood', ids[0]!)).toBe(404);
      expect(await echo(urls[1]!, 'calm', calm.id!)).toBe(200);
      // 11 sessions live in Redis now (calm's one, flood's ten): replicas allowing 5 in all refuse the next.
      const full = await Promise.all(
        [0, 1].map(() => startProxy(config(store, { maxPerCaller: 10, max: 5 }))),
      );
      apps.push(...full.map((f) => f.app));
      const refused = await initialize(full[0]!.url, 'calm');
      expect(refused.status).toBe(503);
      expect(refused.reply.headers.get('retry-after')).toBe('30');
      expect(refused.reply.json?.error?.data?.code).toBe('SESSIONS_FULL');
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  }, 120_000);
});
