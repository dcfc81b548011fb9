import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/client';
import type { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import {
  eventually,
  LEGACY,
  legacyClient,
  modernClient,
  modernRequest,
  rawPost,
  SAMPLES,
  startProxy,
  TSX_NODE,
} from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const EVERYTHING = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);

let tools: StartedServer;
let legacyUp: StartedServer;
let app: App;
let url: string;
let modern: Client;
let legacy: V1Client;

beforeAll(async () => {
  [tools, legacyUp] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    startServer(SAMPLES.legacy, ['--port', '0']),
  ]);
  ({ app, url } = await startProxy({
    upstreams: [
      { name: 'tools', url: tools.url, transport: 'streamable-http', catalogRefreshSeconds: 0 },
      { name: 'content', transport: 'stdio', command: [...TSX_NODE, SAMPLES.content] },
      { name: 'legacy', url: legacyUp.url, transport: 'streamable-http' },
      { name: 'everything', transport: 'stdio', command: [process.execPath, EVERYTHING, 'stdio'] },
    ],
  }));
  modern = await modernClient(url);
  ({ client: legacy } = await legacyClient(url));
}, 60_000);

afterAll(async () => {
  await modern?.close();
  await legacy?.close();
  await app?.close();
  await Promise.all([tools?.stop(), legacyUp?.stop()]);
});

describe('one catalog for both eras', () => {
  it('negotiates the modern era without a session, on the wire', async () => {
    expect(modern.getProtocolEra()).toBe('modern');
    const { headers, body } = modernRequest('tools/list');
    const reply = await rawPost(url, body, headers);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('mcp-session-id')).toBeNull();
    expect(reply.json?.result?.resultType).toBe('complete');
    expect(typeof reply.json?.result?.ttlMs).toBe('number');
    expect(['public', 'private']).toContain(reply.json?.result?.cacheScope);
  });

  it('gives a legacy client a session on initialize', async () => {
    const reply = await rawPost(url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('mcp-session-id')).toMatch(/[0-9a-f-]{36}/);
    expect(reply.json?.result?.protocolVersion).toBe(LEGACY);
    expect(reply.json?.result?.serverInfo).toMatchObject({ name: 'mcp-fed' });
  });

  it('lists namespaced tools of every upstream with their definitions intact', async () => {
    for (const list of [await modern.listTools(), await legacy.listTools()]) {
      const names = list.tools.map((t) => t.name);
      expect(names).toEqual(
        expect.arrayContaining(['tools__echo', 'tools__add', 'content__bump', 'legacy__echo']),
      );
      expect(names.some((n) => n.startsWith('everything__'))).toBe(true);
      const echo = list.tools.find((t) => t.name === 'tools__echo')!;
      expect(echo.description).toBe('Echoes the given text back unchanged.');
      expect(echo.inputSchema.required).toEqual(['text']);
      expect(echo.annotations?.readOnlyHint).toBe(true);
      // Vendor _meta intact, plus the proxies the entry crossed (DESIGN.md, "Correlation and chaining").
      expect(echo._meta).toEqual({ 'sample/kind': 'hot-path', 'mcp-fed/hops': 1 });
    }
  });

  it('lists prompts, resources and templates of every upstream', async () => {
    const prompts = (await modern.listPrompts()).prompts.map((p) => p.name);
    expect(prompts).toEqual(expect.arrayContaining(['content__greeting', 'legacy__hello']));
    const resources = (await legacy.listResources()).resources.map((r) => r.uri);
    expect(resources).toEqual(expect.arrayContaining(['content://readme', 'legacy://info']));
    const templates = (await modern.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate);
    expect(templates).toContain('content://notes/{id}');
  });

  it('answers server/discover and initialize as the proxy, with every upstream instruction', async () => {
    const discover = modern.getDiscoverResult?.();
    expect(discover?.capabilities?.tools).toBeDefined();
    expect(legacy.getServerVersion()?.name).toBe('mcp-fed');
    expect(legacy.getInstructions() ?? '').toContain('## everything');
  });
});

describe('calls through the proxy', () => {
  it('relays text, structured, image, audio and isError results in both eras', async () => {
    for (const c of [modern, legacy] as Client[]) {
      const echo = await c.callTool({ name: 'tools__echo', arguments: { text: 'héllo 🌍' } });
      expect(echo.content).toEqual([{ type: 'text', text: 'héllo 🌍' }]);
      const add = await c.callTool({ name: 'tools__add', arguments: { a: 2, b: 40 } });
      expect(add.structuredContent).toEqual({ sum: 42 });
      const image = await c.callTool({ name: 'tools__image', arguments: {} });
      expect((image.content as { type: string }[])[0]?.type).toBe('image');
      const audio = await c.callTool({ name: 'tools__audio', arguments: {} });
      expect((audio.content as { type: string }[])[0]?.type).toBe('audio');
      const fail = await c.callTool({ name: 'tools__fail', arguments: { message: 'nope' } });
      expect(fail.isError).toBe(true);
    }
  });

  it('gets prompts, reads resources and templates, completes arguments', async () => {
    const prompt = await legacy.getPrompt({
      name: 'content__greeting',
      arguments: { name: 'Ada', style: 'pirate' },
    });
    expect(JSON.stringify(prompt.messages)).toContain('Ahoy, Ada!');
    const readme = await modern.readResource({ uri: 'content://readme' });
    expect(readme.contents[0]?.uri).toBe('content://readme');
    const note = await legacy.readResource({ uri: 'content://notes/alpha' });
    expect(JSON.stringify(note.contents)).toContain('Alpha');
    const done = await modern.complete({
      ref: { type: 'ref/prompt', name: 'content__greeting' },
      argument: { name: 'style', value: 'p' },
    });
    expect(done.completion.values).toEqual(['pirate']);
  });

  it('maps progress per hop in both eras', async () => {
    for (const call of callers()) {
      const seen: number[] = [];
      const result = await call(
        { name: 'tools__slow', arguments: { steps: 4, delayMs: 20 } },
        { onprogress: (p: { progress: number }) => seen.push(p.progress) },
      );
      expect(JSON.stringify(result.content)).toContain('done after 4 steps');
      expect(seen).toEqual([1, 2, 3, 4]);
    }
  });

  it('aborts the upstream request when the client cancels', async () => {
    const stats = async () =>
      JSON.parse(
        ((await modern.callTool({ name: 'tools__stats', arguments: {} })).content as { text: string }[])[0]!
          .text,
      );
    for (const callTool of callers()) {
      const before = await stats();
      const ac = new AbortController();
      const call = callTool(
        { name: 'tools__slow', arguments: { steps: 50, delayMs: 50 } },
        { signal: ac.signal, onprogress: () => ac.abort() },
      );
      await expect(call).rejects.toThrow();
      await eventually(async () => expect((await stats()).slowCancelled).toBe(before.slowCancelled + 1));
    }
  });

  it('rejects an unknown tool with UNKNOWN_TOOL', async () => {
    const { headers, body } = modernRequest('tools/call', { name: 'nope__x', arguments: {} }, 7, 'nope__x');
    const reply = await rawPost(url, body, headers);
    expect(reply.json?.error?.data?.code).toBe('UNKNOWN_TOOL');
    await expect(legacy.callTool({ name: 'nope__x', arguments: {} })).rejects.toThrow(/unknown tool/);
  });
});

describe('change notifications', () => {
  it('re-lists on list_changed and tells clients of both eras', async () => {
    let legacyNotified = 0;
    legacy.setNotificationHandler(
      (await import('@modelcontextprotocol/sdk/types.js')).ToolListChangedNotificationSchema,
      async () => {
        legacyNotified++;
      },
    );
    let modernNotified = 0;
    modern.setNotificationHandler('notifications/tools/list_changed', () => {
      modernNotified++;
    });
    const sub = await modern.listen({ toolsListChanged: true });
    await modern.callTool({ name: 'tools__add_tool', arguments: { name: 'fresh' } });
    await eventually(async () => {
      expect(legacyNotified).toBeGreaterThan(0);
      expect(modernNotified).toBeGreaterThan(0);
    });
    const names = (await legacy.listTools()).tools.map((t) => t.name);
    expect(names).toContain('tools__fresh');
    const called = await modern.callTool({ name: 'tools__fresh', arguments: {} });
    expect(JSON.stringify(called.content)).toContain('dynamic fresh');
    await sub.close();
  });
});

describe('partial availability', () => {
  it('drops a dead upstream, fails its calls fast, and restores it when it returns', async () => {
    await tools.stop();
    const t0 = Date.now();
    const dead = await rawPost(url, ...reqFor('tools__echo')).then((r) => r.json?.error?.data?.code);
    expect(dead).toBe('UPSTREAM_UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(2_000);
    const ready = await (await fetch(url.replace('/mcp', '/readyz'))).json();
    expect(ready.upstreams.find((u: { name: string }) => u.name === 'tools').state).not.toBe('ready');
    const prompt = await legacy.getPrompt({ name: 'content__greeting', arguments: { name: 'Bo' } });
    expect(prompt.messages.length).toBeGreaterThan(0);
    expect((await modern.listTools()).tools.some((t) => t.name.startsWith('tools__'))).toBe(false);
    // Gone from the lists, but a call to one of its tools still says why it fails (not UNKNOWN_TOOL).
    const later = await rawPost(url, ...reqFor('tools__echo')).then((r) => r.json?.error?.data?.code);
    expect(later).toBe('UPSTREAM_UNAVAILABLE');
    expect(await rawPost(url, ...reqFor('tools__never_was')).then((r) => r.json?.error?.data?.code)).toBe(
      'UNKNOWN_TOOL',
    );

    tools = await tools.restart();
    await eventually(
      async () => {
        const echo = await modern.callTool({ name: 'tools__echo', arguments: { text: 'back' } });
        expect(echo.content).toEqual([{ type: 'text', text: 'back' }]);
      },
      20_000,
      200,
    );
  }, 40_000);
});

type CallOptions = { onprogress?: (p: { progress: number }) => void; signal?: AbortSignal };
type CallFn = (
  params: { name: string; arguments: Record<string, unknown> },
  opts: CallOptions,
) => Promise<Record<string, unknown>>;

/** callTool of each era's client with request options (v1 takes a result schema before the options). */
function callers(): CallFn[] {
  return [(p, o) => modern.callTool(p, o), (p, o) => legacy.callTool(p, undefined, o)];
}

function reqFor(tool: string): [unknown, Record<string, string>] {
  const { headers, body } = modernRequest('tools/call', { name: tool, arguments: { text: 'x' } }, 9, tool);
  return [body, headers];
}
