import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { LEGACY, modernRequest, rawPost, startProxy } from '../helpers/federation.ts';
import { rawLegacySession } from '../helpers/raw-http.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

// A log line an upstream sends on one call's own stream is about that call: it goes back to that caller
// and never to another client's session (a shared upstream connection must not mix callers' messages).
let upstream: StartedServer;
let app: App;
let url: string;

beforeAll(async () => {
  upstream = await startServer('test/fixtures/log-server.ts', ['--port', '0']);
  ({ app, url } = await startProxy({ upstreams: [{ name: 'logger', url: upstream.url }] }));
}, 30_000);

afterAll(async () => {
  await app?.close();
  await upstream?.stop();
});

describe('request-scoped upstream notifications', () => {
  it('reach the calling request and no other session', async () => {
    const bystander = await rawLegacySession(url, LEGACY);
    const ac = new AbortController();
    const stream = await fetch(url, {
      headers: { ...bystander, accept: 'text/event-stream' },
      signal: ac.signal,
    });
    expect(stream.status).toBe(200);
    let overheard = '';
    const listening = (async () => {
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        overheard += decoder.decode(value);
      }
    })().catch(() => {});

    const { headers, body } = modernRequest(
      'tools/call',
      {
        name: 'logger__note',
        arguments: { message: 'only-for-the-caller' },
        _meta: { 'io.modelcontextprotocol/logLevel': 'debug' },
      },
      1,
      'logger__note',
    );
    const reply = await rawPost(url, body, headers);
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('notifications/message');
    expect(reply.text).toContain('only-for-the-caller');
    expect(reply.text).toContain('"noted"');

    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    await listening;
    expect(overheard).not.toContain('only-for-the-caller');
  });

  it("follow the 2026-07-28 request's own log level: none without one, none below it", async () => {
    const noted = async (meta: Record<string, unknown>, id: number) => {
      const { headers, body } = modernRequest(
        'tools/call',
        { name: 'logger__note', arguments: { message: `level-check-${id}` }, _meta: meta },
        id,
        'logger__note',
      );
      const reply = await rawPost(url, body, headers);
      expect(reply.text).toContain('"noted"');
      return reply.text.includes('notifications/message');
    };
    expect(await noted({}, 11)).toBe(false);
    expect(await noted({ 'io.modelcontextprotocol/logLevel': 'warning' }, 12)).toBe(false);
    expect(await noted({ 'io.modelcontextprotocol/logLevel': 'info' }, 13)).toBe(true);
  });
});
