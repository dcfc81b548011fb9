/**
 * A 2025-era session's logging/setLevel in front of a 2026-07-28 upstream, which has no setLevel: the
 * proxy puts the level in each of the session's calls (`_meta` logLevel), on whichever replica serves
 * the call: one holding the session when the level was set, and one that rebuilds it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { LEGACY, rawPost, startProxy } from '../helpers/federation.ts';
import { rawLegacySession } from '../helpers/raw-http.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

let upstream: StartedServer;
let redis: TestRedis;
let config: Record<string, unknown>;
const apps: App[] = [];
let nextId = 1;

beforeAll(async () => {
  [upstream, redis] = await Promise.all([
    startServer('test/fixtures/log-server.ts', ['--port', '0']),
    privateRedis(),
  ]);
  config = {
    upstreams: [{ name: 'logger', url: upstream.url }],
    store: { kind: 'redis', url: redis.url, keyPrefix: `log-level-${randomUUID().slice(0, 8)}:` },
  };
}, 30_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all([upstream?.stop(), redis?.stop()]);
});

async function replica(): Promise<string> {
  const { app, url } = await startProxy(config);
  apps.push(app);
  return url;
}

/** Whether a call of the session on `url` came back with the upstream's log line. */
async function logged(url: string, headers: Record<string, string>): Promise<boolean> {
  const message = `note-${nextId}`;
  const reply = await rawPost(
    url,
    {
      jsonrpc: '2.0',
      id: nextId++,
      method: 'tools/call',
      params: { name: 'logger__note', arguments: { message } },
    },
    headers,
  );
  expect(reply.status).toBe(200);
  expect(reply.text).toContain('"noted"');
  return reply.text.includes('notifications/message') && reply.text.includes(message);
}

it("carries a 2025 session's log level to a 2026-07-28 upstream on every replica", async () => {
  const [a, b] = [await replica(), await replica()];
  const session = await rawLegacySession(a, LEGACY);
  // No level asked: a 2026-07-28 upstream sends no log notifications.
  expect(await logged(b, session)).toBe(false);
  const set = await rawPost(
    a,
    { jsonrpc: '2.0', id: nextId++, method: 'logging/setLevel', params: { level: 'info' } },
    session,
  );
  expect(set.status).toBe(200);
  expect(await logged(a, session)).toBe(true);
  // B held the session before the level was set; C rebuilds it from the record afterwards.
  expect(await logged(b, session)).toBe(true);
  expect(await logged(await replica(), session)).toBe(true);
  // Above the line's level: nothing.
  await rawPost(
    a,
    { jsonrpc: '2.0', id: nextId++, method: 'logging/setLevel', params: { level: 'error' } },
    session,
  );
  expect(await logged(b, session)).toBe(false);
}, 30_000);
