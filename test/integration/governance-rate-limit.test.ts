/**
 * Rate limits through the real proxy: per (caller, tool) sliding windows in memory, shared by two
 * proxy instances on one real Redis, and failing closed (503 STORE_UNAVAILABLE + Retry-After) while
 * Redis is down, with /readyz reporting the store and service resuming by itself.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { eventually, SAMPLES, startProxy } from '../helpers/federation.ts';
import { rawCall, readAudit } from '../helpers/governance.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const KEYS = { alice: 'rl-key-alice-0123456789', bob: 'rl-key-bob-0123456789' };
const as = (who: keyof typeof KEYS) => ({ 'x-api-key': KEYS[who] });
const echo = (url: string, who: keyof typeof KEYS, text = 'x', extra: Record<string, string> = {}) =>
  rawCall(url, 'tools/call', { name: 'tools__echo', arguments: { text } }, { ...as(who), ...extra });

let tools: StartedServer;
let redis: TestRedis;

/** Keys of this run only, in case REDIS_URL points at a Redis other runs use too. */
const uniquePrefix = (name: string) => `mcp-fed-test:${name}:${randomUUID().slice(0, 8)}:`;
let dir: string;
const apps: App[] = [];

function governed(extra: Record<string, unknown> = {}) {
  return {
    upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
    inbound: {
      auth: {
        kind: 'apiKeys',
        keys: [
          { key: KEYS.alice, caller: 'alice', groups: ['interns'] },
          { key: KEYS.bob, caller: 'bob' },
        ],
      },
    },
    policies: {
      acl: [{ callers: ['*'], allow: ['tools__*'], deny: ['tools__fail'] }],
      rateLimits: [
        { callers: ['*'], tools: ['tools__echo'], perMinute: 3 },
        { callers: ['group:interns'], tools: ['tools__a*'], perMinute: 1 },
      ],
    },
    ...extra,
  };
}

async function proxy(raw: Record<string, unknown>) {
  const started = await startProxy(raw);
  apps.push(started.app);
  return started;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-ratelimit-'));
  [tools, redis] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    privateRedis({ own: true }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all([tools?.stop(), redis?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('memory store', () => {
  it('limits each (caller, tool) pair on its own and says when to retry; audited as rate_limited', async () => {
    const auditPath = join(dir, 'memory-audit.jsonl');
    const { url } = await proxy(governed({ audit: { sink: 'file', path: auditPath } }));
    for (let i = 0; i < 3; i++) expect((await echo(url, 'alice', `a${i}`)).json?.result).toBeDefined();
    const limited = await echo(url, 'alice', 'a3', { 'x-request-id': 'rl-limited-1' });
    expect(limited.status).toBe(200);
    expect(limited.json?.error?.code).toBe(-32041);
    expect(limited.json?.error?.data?.code).toBe('RATE_LIMITED');
    const retry = limited.json?.error?.data?.retryAfterMs as number;
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(120_000);
    // Another caller, and another tool of the same caller, have buckets of their own.
    expect((await echo(url, 'bob')).json?.result).toBeDefined();
    const add = (n: number) =>
      rawCall(url, 'tools/call', { name: 'tools__add', arguments: { a: n, b: 1 } }, as('alice'));
    expect((await add(1)).json?.result).toBeDefined();
    // A rule naming alice's group adds its own, tighter bucket.
    expect((await add(2)).json?.error?.data?.code).toBe('RATE_LIMITED');
    expect(
      (await rawCall(url, 'tools/call', { name: 'tools__add', arguments: { a: 1, b: 1 } }, as('bob'))).json
        ?.result,
    ).toBeDefined();
    // A call the ACL denies never reaches (or uses up) the rate limit.
    const denied = await rawCall(url, 'tools/call', { name: 'tools__fail', arguments: {} }, as('bob'));
    expect(denied.json?.error?.data?.code).toBe('ACL_DENIED');
    const record = await eventually(() => {
      const r = readAudit(auditPath).find((l) => l.request_id === 'rl-limited-1');
      if (!r) throw new Error('no record yet');
      return r;
    });
    expect(record).toMatchObject({
      caller_identity: 'alice',
      tool_name: 'tools__echo',
      policy_decision: 'rate_limited',
      result_status: 'error',
      upstream_status: null,
      upstream_latency_ms: 0,
    });
  });
});

describe('redis store', () => {
  it('shares the limit between two proxy instances on one Redis', async () => {
    const store = { kind: 'redis', url: redis.url, keyPrefix: uniquePrefix('shared') };
    const [a, b] = await Promise.all([proxy(governed({ store })), proxy(governed({ store }))]);
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await echo(i % 2 === 0 ? a.url : b.url, 'alice', `r${i}`);
      outcomes.push(reply.json?.result ? 'ok' : String(reply.json?.error?.data?.code));
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    // Concurrent calls through both replicas: the Lua script is atomic, so exactly the limit gets through.
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => echo(i % 2 === 0 ? a.url : b.url, 'bob', `c${i}`)),
    );
    expect(burst.filter((r) => r.json?.result)).toHaveLength(3);
    expect(burst.filter((r) => r.json?.error?.data?.code === 'RATE_LIMITED')).toHaveLength(9);
  });

  it('fails closed with 503 STORE_UNAVAILABLE while Redis is down, /readyz says so, and recovers', async () => {
    const store = { kind: 'redis', url: redis.url, keyPrefix: uniquePrefix('outage') };
    const { url } = await proxy(governed({ store }));
    const readyz = () =>
      fetch(new URL('/readyz', url)).then(async (r) => ({ status: r.status, body: await r.json() }));
    expect((await echo(url, 'alice')).json?.result).toBeDefined();
    expect(await readyz()).toMatchObject({ status: 200, body: { store: 'ok' } });

    await redis.stop();
    try {
      const down = await eventually(async () => {
        const reply = await echo(url, 'alice');
        if (reply.status !== 503) throw new Error(`still ${reply.status}`);
        return reply;
      });
      expect(down.json?.error?.data?.code).toBe('STORE_UNAVAILABLE');
      expect(down.json?.error?.code).toBe(-32048);
      expect(Number(down.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await readyz()).toMatchObject({ status: 503, body: { ready: false, store: 'unavailable' } });
      // A tool no rate limit covers needs no store and keeps working.
      const stats = await rawCall(url, 'tools/call', { name: 'tools__stats', arguments: {} }, as('bob'));
      expect(stats.json?.result).toBeDefined();
    } finally {
      await redis.restart();
    }
    await eventually(async () => {
      const reply = await echo(url, 'alice');
      if (!reply.json?.result) throw new Error(`not yet: ${reply.status}`);
    }, 15_000);
    expect(await readyz()).toMatchObject({ status: 200, body: { store: 'ok' } });
  });
});
