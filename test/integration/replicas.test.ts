/**
 * Two proxy replicas sharing one real Redis in front of the tools sample: a raw 2025-11-25 session
 * initialized on A is served by B (fast path and SDK methods alike) and back on A, rate limits are
 * shared, DELETE on one ends the session on the other, a dead Redis fails closed (503 + Retry-After,
 * /readyz red) and service resumes by itself, and a session outlives the replica that started it.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { token } from '../../src/hooks/pii/tokens.ts';
import { VaultCrypto } from '../../src/store/vault-crypto.ts';
import { eventually, LEGACY, type RawReply, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

let tools: StartedServer;
let redis: TestRedis;
const replicas: { app: App; url: string }[] = [];
let a: string;
let b: string;
let nextId = 1;
const VAULT_KEY = 'replicas-test-vault-key-0123456789';

beforeAll(async () => {
  [tools, redis] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    privateRedis({ own: true }),
  ]);
  const config = {
    upstreams: [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }],
    store: { kind: 'redis', url: redis.url, keyPrefix: `mcp-fed-replicas:${randomUUID().slice(0, 8)}:` },
    policies: { rateLimits: [{ callers: ['*'], tools: ['tools__add'], perMinute: 2 }] },
    pii: { mode: 'tokenize' },
    secrets: { vaultKey: VAULT_KEY },
  };
  for (let i = 0; i < 2; i++) replicas.push(await startProxy(config));
  [a, b] = replicas.map((r) => r.url) as [string, string];
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.app.close()));
  await Promise.all([tools?.stop(), redis?.stop()]);
});

async function initialize(url: string): Promise<string> {
  const init = await rawPost(url, {
    jsonrpc: '2.0',
    id: nextId++,
    method: 'initialize',
    params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  expect(init.status).toBe(200);
  expect(init.json?.result?.protocolVersion).toBe(LEGACY);
  const session = init.headers.get('mcp-session-id');
  expect(session).toBeTruthy();
  const note = await rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers(session!));
  expect(note.status).toBe(202);
  return session!;
}

const headers = (session: string) => ({ 'mcp-session-id': session, 'mcp-protocol-version': LEGACY });

function request(url: string, session: string, method: string, params: Record<string, unknown> = {}) {
  return rawPost(url, { jsonrpc: '2.0', id: nextId++, method, params }, headers(session));
}

/** The JSON-RPC response of an SSE or JSON reply (progress notifications may come first). */
function response(reply: RawReply) {
  const lines = reply.text.split('\n').filter((l) => l.startsWith('data: '));
  const found = lines.map((l) => JSON.parse(l.slice(6))).find((m) => 'result' in m || 'error' in m);
  return found ?? reply.json;
}

const echo = (url: string, session: string, text: string) =>
  request(url, session, 'tools/call', { name: 'tools__echo', arguments: { text } });

describe('two replicas, one Redis', () => {
  let session: string;

  it('serves a session initialized on A from B (progress, lists, ping) and back on A', async () => {
    session = await initialize(a);
    const slow = await request(b, session, 'tools/call', {
      name: 'tools__slow',
      arguments: { steps: 3, delayMs: 20 },
      _meta: { progressToken: 'p1' },
    });
    expect(slow.status).toBe(200);
    expect(slow.text).toContain('notifications/progress');
    expect(response(slow).result.content[0].text).toBe('done after 3 steps');

    const list = await request(b, session, 'tools/list');
    expect(list.status).toBe(200);
    const names = (response(list).result.tools as { name: string }[]).map((t) => t.name);
    expect(names).toContain('tools__echo');
    expect(response(await request(b, session, 'ping')).result).toEqual({});

    const back = await echo(a, session, 'hello from A');
    expect(response(back).result.content[0].text).toBe('hello from A');
  });

  it('opens the GET stream on B', async () => {
    const ac = new AbortController();
    const res = await fetch(b, {
      headers: { ...headers(session), accept: 'text/event-stream' },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    ac.abort();
  });

  it('tells the GET stream on B about a tool list change a call on A made', async () => {
    const ac = new AbortController();
    const res = await fetch(b, {
      headers: { ...headers(session), accept: 'text/event-stream' },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    const heard = (async () => {
      const decoder = new TextDecoder();
      while (!seen.includes('notifications/tools/list_changed')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += decoder.decode(value);
      }
    })().catch(() => {});
    const name = `dyn_${randomUUID().slice(0, 6)}`;
    try {
      await request(a, session, 'tools/call', { name: 'tools__add_tool', arguments: { name } });
      await eventually(() => expect(seen).toContain('notifications/tools/list_changed'), 10_000);
    } finally {
      ac.abort();
      await heard;
      await request(a, session, 'tools/call', { name: 'tools__remove_tool', arguments: { name } });
    }
  });

  it('shares rate limits between replicas', async () => {
    const add = (url: string) =>
      request(url, session, 'tools/call', { name: 'tools__add', arguments: { a: 1, b: 2 } });
    expect(response(await add(a)).result).toBeDefined();
    expect(response(await add(b)).result).toBeDefined();
    const refused = response(await add(a));
    expect(refused.error?.data?.code).toBe('RATE_LIMITED');
  });

  it('gives back on B a PII token that A minted (one vault, one key)', async () => {
    const value = 'bob@example.com';
    expect(response(await echo(a, session, `mail ${value}`)).result.content[0].text).toBe(`mail ${value}`);
    // The token A stored for this caller's value: B must find it in the shared vault.
    const minted = token('EMAIL', new VaultCrypto(VAULT_KEY).tokenId('anonymous', 'EMAIL', value));
    const unknown = token('EMAIL', new VaultCrypto(VAULT_KEY).tokenId('anonymous', 'EMAIL', 'x@y.example'));
    const reply = response(await echo(b, session, `${minted} / ${unknown}`));
    expect(reply.result.content[0].text).toBe(`${value} / ${unknown}`);
  });

  it('answers an unknown session with 404 on every replica', async () => {
    for (const url of [a, b]) expect((await echo(url, randomUUID(), 'x')).status).toBe(404);
  });

  it('DELETE on B ends the session on A too', async () => {
    const res = await fetch(b, { method: 'DELETE', headers: headers(session) });
    expect(res.status).toBe(200);
    expect((await echo(a, session, 'gone?')).status).toBe(404);
    expect((await echo(b, session, 'gone?')).status).toBe(404);
  });

  it('fails closed while Redis is down and recovers by itself when it returns', async () => {
    const live = await initialize(a);
    expect((await echo(b, live, 'up')).status).toBe(200);
    await redis.stop();
    try {
      for (const url of [a, b]) {
        const down = await echo(url, live, 'down');
        expect(down.status).toBe(503);
        expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(down.json?.error?.data?.code).toBe('STORE_UNAVAILABLE');
        const init = await rawPost(url, {
          jsonrpc: '2.0',
          id: nextId++,
          method: 'initialize',
          params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
        });
        expect(init.status).toBe(503);
        const ready = await fetch(url.replace('/mcp', '/readyz'));
        expect(ready.status).toBe(503);
      }
    } finally {
      await redis.restart();
    }
    // The restarted Redis has no data: the old session is gone (404, never served from another store).
    const fresh = await eventually(() => initialize(b), 15_000, 200);
    expect((await echo(a, live, 'lost')).status).toBe(404);
    expect(response(await echo(a, fresh, 'back')).result.content[0].text).toBe('back');
    for (const url of [a, b]) expect((await fetch(url.replace('/mcp', '/readyz'))).status).toBe(200);
  }, 30_000);

  it('finishes a session on B after A, which started it, is gone', async () => {
    const survivor = await initialize(a);
    expect(response(await echo(a, survivor, 'on A')).result.content[0].text).toBe('on A');
    await replicas[0]!.app.close();
    const list = await request(b, survivor, 'tools/list');
    expect(list.status).toBe(200);
    expect(response(await echo(b, survivor, 'on B')).result.content[0].text).toBe('on B');
  });
});
