/**
 * Upstream sessions on a 2025-era upstream (DESIGN.md, "Upstream sessions"): each downstream session,
 * and each 2026-07-28 caller identity, gets its own upstream session, opened on first use with that
 * client's capabilities; its id lives in the session record, so another replica continues it; an
 * upstream that forgot it (restart) gets a new one without the client noticing.
 */
import { randomUUID } from 'node:crypto';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { eventually, modernRequest, rawPost, SAMPLES, startProxy, TSX_NODE } from '../helpers/federation.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

let upstream: StartedServer;
let redis: TestRedis;
const replicas: { app: App; url: string }[] = [];
let a: string;
let b: string;

beforeAll(async () => {
  [upstream, redis] = await Promise.all([
    startServer(SAMPLES.legacy, ['--port', '0']),
    privateRedis({ own: true }),
  ]);
  const config = {
    upstreams: [{ name: 'legacy', url: upstream.url, catalogRefreshSeconds: 0 }],
    store: { kind: 'redis', url: redis.url, keyPrefix: `mcp-fed-upsess:${randomUUID().slice(0, 8)}:` },
    inbound: {
      auth: {
        kind: 'apiKeys',
        keys: [
          { key: 'key-alice-0123456789', caller: 'alice' },
          { key: 'key-bob-0123456789abc', caller: 'bob' },
          { key: 'key-carol-0123456789a', caller: 'carol' },
        ],
      },
    },
  };
  for (let i = 0; i < 2; i++) replicas.push(await startProxy(config));
  [a, b] = replicas.map((r) => r.url) as [string, string];
}, 60_000);

afterAll(async () => {
  await Promise.all(replicas.map((r) => r.app.close()));
  await Promise.all([upstream?.stop(), redis?.stop()]);
});

interface SessionInfo {
  session: string | null;
  capabilities: Record<string, unknown>;
}
const info = (r: unknown) =>
  JSON.parse((r as { content: { text: string }[] }).content[0]!.text) as SessionInfo;

/** A 2025-era client whose requests go to `urls` in turn (a round-robin balancer). */
async function legacyClient(key: string, urls: string[], capabilities: Record<string, unknown> = {}) {
  let next = 0;
  const client = new V1Client({ name: 'upsess', version: '1.0.0' }, { capabilities });
  const transport = new V1Transport(new URL(urls[0]!), {
    requestInit: key ? { headers: { authorization: `Bearer ${key}` } } : undefined,
    fetch: ((_input: unknown, init: RequestInit) => fetch(urls[next++ % urls.length]!, init)) as never,
  });
  await client.connect(transport);
  return client;
}

async function modernSession(url: string, key: string): Promise<SessionInfo> {
  const { headers, body } = modernRequest(
    'tools/call',
    { name: 'legacy__session', arguments: {} },
    1,
    'legacy__session',
  );
  const reply = await rawPost(url, body, { ...headers, authorization: `Bearer ${key}` });
  return info(reply.json?.result);
}

describe('upstream sessions on a 2025-era upstream', () => {
  it('gives each downstream session its own, declared with that client’s capabilities', async () => {
    const one = await legacyClient('key-alice-0123456789', [a], { elicitation: {} });
    const two = await legacyClient('key-alice-0123456789', [a], { sampling: {} });
    try {
      const first = info(await one.callTool({ name: 'legacy__session', arguments: {} }));
      const again = info(await one.callTool({ name: 'legacy__session', arguments: {} }));
      const other = info(await two.callTool({ name: 'legacy__session', arguments: {} }));
      expect(first.session).toBeTruthy();
      expect(again.session).toBe(first.session);
      expect(other.session).not.toBe(first.session);
      expect(Object.keys(first.capabilities)).toEqual(['elicitation']);
      expect(Object.keys(other.capabilities)).toEqual(['sampling']);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('continues the same upstream session on the other replica (its id is in the session record)', async () => {
    const client = await legacyClient('key-alice-0123456789', [a, b]);
    try {
      // initialize went to A, initialized to B; the calls alternate A, B, A.
      const seen = new Set<string | null>();
      for (let i = 0; i < 3; i++)
        seen.add(info(await client.callTool({ name: 'legacy__session', arguments: {} })).session);
      expect(seen.size).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('gives 2026-07-28 callers one per identity', async () => {
    const alice = await modernSession(a, 'key-alice-0123456789');
    const aliceAgain = await modernSession(a, 'key-alice-0123456789');
    const bob = await modernSession(a, 'key-bob-0123456789abc');
    expect(aliceAgain.session).toBe(alice.session);
    expect(bob.session).not.toBe(alice.session);
  });

  it("meets a caller's first calls, sent to both replicas at once, in one upstream session", async () => {
    // Each replica opens one for the caller; one is stored first and every call uses it (none meets
    // the other, which its replica ends).
    const seen = await Promise.all(
      Array.from({ length: 24 }, (_, i) => modernSession(i % 2 ? b : a, 'key-carol-0123456789a')),
    );
    const ids = new Set(seen.map((s) => s.session));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toEqual(expect.any(String));
    expect((await modernSession(b, 'key-carol-0123456789a')).session).toBe([...ids][0]);
  });

  it('opens a new one, unseen by the client, when the upstream restarted and forgot it', async () => {
    const client = await legacyClient('key-bob-0123456789abc', [a]);
    try {
      const before = info(await client.callTool({ name: 'legacy__session', arguments: {} }));
      upstream = await upstream.restart();
      const after = await eventually(
        async () => info(await client.callTool({ name: 'legacy__session', arguments: {} })),
        20_000,
        200,
      );
      expect(after.session).toBeTruthy();
      expect(after.session).not.toBe(before.session);
    } finally {
      await client.close();
    }
  }, 40_000);

  it('ends its upstream session when the client ends its own (DELETE, on either replica)', async () => {
    const client = await legacyClient('key-bob-0123456789abc', [a, b]);
    const { session } = info(await client.callTool({ name: 'legacy__session', arguments: {} }));
    const ping = () =>
      fetch(upstream.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': session!,
          'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      }).then((r) => r.status);
    expect(await ping()).toBe(200);
    await (client.transport as V1Transport).terminateSession();
    await eventually(async () => expect(await ping()).toBe(404));
    await client.close();
  });

  it("applies a session's log level to its own upstream session only", async () => {
    const quiet = await legacyClient('key-alice-0123456789', [a, b]);
    const chatty = await legacyClient('key-alice-0123456789', [a]);
    const heard = { quiet: [] as string[], chatty: [] as string[] };
    quiet.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      heard.quiet.push(String(n.params.data));
    });
    chatty.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      heard.chatty.push(String(n.params.data));
    });
    try {
      await quiet.setLoggingLevel('error');
      await quiet.callTool({ name: 'legacy__log', arguments: { message: 'to-quiet' } });
      await chatty.callTool({ name: 'legacy__log', arguments: { message: 'to-chatty' } });
      await new Promise((r) => setTimeout(r, 200));
      expect(heard.quiet).toEqual([]);
      expect(heard.chatty).toEqual(['to-chatty']);
    } finally {
      await Promise.all([quiet.close(), chatty.close()]);
    }
  });

  it('gives each session a stdio child of its own with isolation: per-session, and one child to all without', async () => {
    const proxy = await startProxy({
      upstreams: [
        { name: 'iso', command: [...TSX_NODE, SAMPLES.content], isolation: 'per-session' },
        { name: 'shared', command: [...TSX_NODE, SAMPLES.content] },
      ],
    });
    const bump = (c: V1Client, name: string) =>
      c
        .callTool({ name, arguments: {} })
        .then((r) => (r as { content: { text: string }[] }).content[0]!.text);
    const one = await legacyClient('', [proxy.url]);
    const two = await legacyClient('', [proxy.url]);
    try {
      expect(await bump(one, 'iso__bump')).toBe('counter=1');
      expect(await bump(one, 'iso__bump')).toBe('counter=2');
      expect(await bump(two, 'iso__bump')).toBe('counter=1');
      // The shared child counts both sessions' calls.
      expect(await bump(one, 'shared__bump')).toBe('counter=1');
      expect(await bump(two, 'shared__bump')).toBe('counter=2');
      // A 2026-07-28 caller gets a child per identity (anonymous here, so one).
      const { headers, body } = modernRequest(
        'tools/call',
        { name: 'iso__bump', arguments: {} },
        1,
        'iso__bump',
      );
      const modern = await rawPost(proxy.url, body, headers);
      const content = (modern.json?.result ?? {}) as { content?: { text: string }[] };
      expect(content.content?.[0]?.text).toBe('counter=1');
    } finally {
      await Promise.all([one.close(), two.close()]);
      await proxy.app.close();
    }
  }, 60_000);
});
