/**
 * Server-initiated messages across two replicas sharing one real Redis, in front of the content sample
 * over HTTP: a raw 2025-11-25 session subscribes on A while its GET stream is held on B (opened after
 * the subscribe: B reads the set from the session record; opened before: B learns it over the replica
 * bus), and `bump` on A reaches B's stream; unsubscribing on A stops it. A modern subscriptions/listen
 * on B receives the update of a bump made through A. The bus itself: another replica's message
 * arrives, a replica's own does not.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { silentLogger } from '../../src/log.ts';
import { createRedisClient } from '../../src/store/redis-client.ts';
import { RedisReplicaBus, type ReplicaMessage } from '../../src/store/replica-bus.ts';
import { eventually, LEGACY, modernClient, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { rawLegacySession } from '../helpers/raw-http.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const COUNTER = 'content://counter';
const UPDATED = 'notifications/resources/updated';

let content: StartedServer;
let redis: TestRedis;
const replicas: { app: App; url: string }[] = [];
let a: string;
let b: string;
let nextId = 1;
const open: AbortController[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  [content, redis] = await Promise.all([startServer(SAMPLES.content, ['--port', '0']), privateRedis()]);
  const config = {
    upstreams: [{ name: 'content', url: content.url, catalogRefreshSeconds: 0 }],
    store: { kind: 'redis', url: redis.url, keyPrefix: `mcp-fed-notify:${randomUUID().slice(0, 8)}:` },
  };
  for (let i = 0; i < 2; i++) replicas.push(await startProxy(config));
  [a, b] = replicas.map((r) => r.url) as [string, string];
}, 60_000);

afterAll(async () => {
  for (const ac of open) ac.abort();
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await Promise.all(replicas.map((r) => r.app.close()));
  await Promise.all([content?.stop(), redis?.stop()]);
});

const headers = (session: string) => ({ 'mcp-session-id': session, 'mcp-protocol-version': LEGACY });

/** A raw 2025-11-25 session (initialize + initialized; throws unless they answer 200 and 202). */
async function initialize(url: string): Promise<string> {
  return (await rawLegacySession(url, LEGACY))['mcp-session-id']!;
}

async function request(url: string, session: string, method: string, params: Record<string, unknown>) {
  const reply = await rawPost(url, { jsonrpc: '2.0', id: nextId++, method, params }, headers(session));
  expect(reply.status).toBe(200);
  expect(reply.json?.error).toBeUndefined();
  return reply;
}

/** The session's GET stream on `url`; `text()` is everything it has received so far. */
async function getStream(url: string, session: string) {
  const ac = new AbortController();
  open.push(ac);
  const res = await fetch(url, {
    headers: { ...headers(session), accept: 'text/event-stream' },
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  let text = '';
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += value;
    }
  })();
  return { text: () => text, close: () => ac.abort() };
}

const updates = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as { method?: string; params?: { uri?: string } })
    .filter((m) => m.method === UPDATED && m.params?.uri === COUNTER).length;

const bump = (session: string) => request(a, session, 'tools/call', { name: 'content__bump', arguments: {} });

describe('resources/updated reaches the replica holding the GET stream', () => {
  it('subscribe on A, then open the stream on B: B follows the subscription from the session record', async () => {
    const session = await initialize(a);
    await request(a, session, 'resources/subscribe', { uri: COUNTER });
    const stream = await getStream(b, session);
    await bump(session);
    await eventually(() => expect(updates(stream.text())).toBeGreaterThan(0));
    stream.close();
  });

  it('stream open on B first, then subscribe and unsubscribe on A: B learns both over the replica bus', async () => {
    const session = await initialize(a);
    const stream = await getStream(b, session);
    await request(a, session, 'resources/subscribe', { uri: COUNTER });
    // The bus is asynchronous: keep bumping until B's own upstream watch is in place.
    await eventually(async () => {
      await bump(session);
      expect(updates(stream.text())).toBeGreaterThan(0);
    });
    await request(a, session, 'resources/unsubscribe', { uri: COUNTER });
    await new Promise((r) => setTimeout(r, 300));
    const before = updates(stream.text());
    await bump(session);
    await new Promise((r) => setTimeout(r, 500));
    expect(updates(stream.text())).toBe(before);
    stream.close();
  });

  it('a session that never subscribed gets no update on its stream', async () => {
    const subscriber = await initialize(a);
    await request(a, subscriber, 'resources/subscribe', { uri: COUNTER });
    const bystander = await initialize(a);
    const stream = await getStream(b, bystander);
    const watched = await getStream(b, subscriber);
    await bump(subscriber);
    await eventually(() => expect(updates(watched.text())).toBeGreaterThan(0));
    expect(updates(stream.text())).toBe(0);
    stream.close();
    watched.close();
  });
});

describe('modern subscriptions/listen', () => {
  it('a listener on B receives the update of a bump made through A', async () => {
    const listener = await modernClient(b);
    const caller = await modernClient(a);
    clients.push(listener, caller);
    const seen: unknown[] = [];
    listener.setNotificationHandler(UPDATED as never, (n: { params?: unknown }) => {
      seen.push(n.params);
    });
    await listener.listen({ resourceSubscriptions: [COUNTER] });
    await eventually(async () => {
      await caller.callTool({ name: 'content__bump', arguments: {} });
      expect(seen).toContainEqual(expect.objectContaining({ uri: COUNTER }));
    });
  });
});

describe('RedisReplicaBus', () => {
  it('delivers a message to the other replicas, not to the one that sent it', async () => {
    const store = { kind: 'redis' as const, url: redis.url, keyPrefix: `bus-${randomUUID().slice(0, 8)}:` };
    const pub = createRedisClient(store);
    const [one, two] = [
      new RedisReplicaBus(pub, store, silentLogger),
      new RedisReplicaBus(pub, store, silentLogger),
    ];
    const got: [ReplicaMessage[], ReplicaMessage[]] = [[], []];
    one.onMessage((m) => got[0].push(m));
    two.onMessage((m) => got[1].push(m));
    try {
      const msg = { session: 's1', subscriptions: [COUNTER] };
      await eventually(async () => {
        await one.publish(msg);
        expect(got[1]).toContainEqual(msg);
      });
      expect(got[0]).toEqual([]);
    } finally {
      await Promise.all([one.close(), two.close()]);
      await pub.quit();
    }
  });
});
