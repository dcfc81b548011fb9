/**
 * `sessions.unknownId`: an unknown `Mcp-Session-Id` gets 404 by default; with `stateless` (platforms
 * that stamp their own session header) the request is served as stateless 2025-era traffic.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { LEGACY, rawPost, SAMPLES, startProxy } from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

let tools: StartedServer;
const apps: App[] = [];
let strict: string;
let stateless: string;

beforeAll(async () => {
  tools = await startServer(SAMPLES.tools, ['--port', '0']);
  const upstreams = [{ name: 'tools', url: tools.url, catalogRefreshSeconds: 0 }];
  for (const unknownId of ['reject', 'stateless']) {
    const { app, url } = await startProxy({ upstreams, sessions: { unknownId } });
    apps.push(app);
    if (unknownId === 'reject') strict = url;
    else stateless = url;
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await tools?.stop();
});

const stamped = () => ({ 'mcp-session-id': `platform-${randomUUID()}`, 'mcp-protocol-version': LEGACY });
const call = (url: string, method: string, params: Record<string, unknown> = {}) =>
  rawPost(url, { jsonrpc: '2.0', id: 1, method, params }, stamped());

describe('sessions.unknownId', () => {
  it('reject (the default): an unknown session id gets 404', async () => {
    const reply = await call(strict, 'tools/list');
    expect(reply.status).toBe(404);
    expect(reply.json?.error?.code).toBe(-32001);
  });

  it('stateless: serves calls, lists, ping and initialize without a session', async () => {
    const echo = await call(stateless, 'tools/call', { name: 'tools__echo', arguments: { text: 'hi' } });
    expect(echo.status).toBe(200);
    expect((echo.json?.result?.content as { text: string }[] | undefined)?.[0]?.text).toBe('hi');

    const list = await call(stateless, 'tools/list');
    expect(list.status).toBe(200);
    expect((list.json?.result?.tools as { name: string }[] | undefined)?.map((t) => t.name)).toContain(
      'tools__echo',
    );
    expect((await call(stateless, 'ping')).json?.result).toEqual({});

    const init = await call(stateless, 'initialize', {
      protocolVersion: LEGACY,
      capabilities: {},
      clientInfo: { name: 'raw', version: '1' },
    });
    expect(init.status).toBe(200);
    expect(init.json?.result?.protocolVersion).toBe(LEGACY);
  });
});
