import type { Client } from '@modelcontextprotocol/client';
import type { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import {
  eventually,
  LEGACY,
  legacyClient,
  modernClient,
  rawPost,
  SAMPLES,
  startProxy,
} from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

/**
 * Change notifications as clients of both eras see them: list_changed relayed from modern and legacy
 * upstreams (and synthesised when a periodic re-list or an outage changes the catalog), resource
 * updates for subscribers only, the legacy GET stream, ping and logging/setLevel.
 */

const COUNTER = 'content://counter';
const METHODS = {
  tools: 'notifications/tools/list_changed',
  prompts: 'notifications/prompts/list_changed',
  resources: 'notifications/resources/list_changed',
  updated: 'notifications/resources/updated',
} as const;
type Seen = Record<keyof typeof METHODS, unknown[]>;
const none = (): Seen => ({ tools: [], prompts: [], resources: [], updated: [] });

let tools: StartedServer;
let quiet: StartedServer;
let legacyUp: StartedServer;
let content: StartedServer;
let app: App;
let url: string;
let modern: Client;
let legacy: V1Client;
let bystander: V1Client;
const modernSeen = none();
const legacySeen = none();
const bystanderSeen = none();

function recordV1(client: V1Client, seen: Seen): void {
  client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => void seen.tools.push(n.params));
  client.setNotificationHandler(PromptListChangedNotificationSchema, (n) => void seen.prompts.push(n.params));
  client.setNotificationHandler(
    ResourceListChangedNotificationSchema,
    (n) => void seen.resources.push(n.params),
  );
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void seen.updated.push(n.params));
}

const reset = (...all: Seen[]) => {
  for (const seen of all) for (const list of Object.values(seen)) list.length = 0;
};

beforeAll(async () => {
  [tools, quiet, legacyUp, content] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    startServer(SAMPLES.tools, ['--port', '0', '--silent-changes']),
    startServer(SAMPLES.legacy, ['--port', '0']),
    startServer(SAMPLES.content, ['--port', '0']),
  ]);
  ({ app, url } = await startProxy({
    upstreams: [
      { name: 'tools', url: tools.url, catalogRefreshSeconds: 0 },
      // Never announces its changes: only the periodic re-list can find them.
      { name: 'quiet', url: quiet.url, catalogRefreshSeconds: 1 },
      { name: 'legacy', url: legacyUp.url, catalogRefreshSeconds: 0 },
      { name: 'content', url: content.url, catalogRefreshSeconds: 0 },
    ],
  }));
  modern = await modernClient(url);
  expect(modern.getProtocolEra()).toBe('modern');
  for (const key of Object.keys(METHODS) as (keyof Seen)[]) {
    modern.setNotificationHandler(METHODS[key] as never, (n: { params?: unknown }) => {
      modernSeen[key].push(n.params);
    });
  }
  const filter = {
    toolsListChanged: true,
    promptsListChanged: true,
    resourcesListChanged: true,
    resourceSubscriptions: [COUNTER],
  };
  expect((await modern.listen(filter)).honoredFilter).toEqual(filter);
  ({ client: legacy } = await legacyClient(url));
  ({ client: bystander } = await legacyClient(url));
  recordV1(legacy, legacySeen);
  recordV1(bystander, bystanderSeen);
}, 60_000);

afterAll(async () => {
  await modern?.close();
  await legacy?.close();
  await bystander?.close();
  await app?.close();
  await Promise.all([tools, quiet, legacyUp, content].map((s) => s?.stop()));
});

const names = async () => (await legacy.listTools()).tools.map((t) => t.name);

describe('list_changed reaches clients of both eras', () => {
  it('relays tools/list_changed from a modern upstream', async () => {
    reset(modernSeen, legacySeen);
    await modern.callTool({ name: 'tools__add_tool', arguments: { name: 'from_modern' } });
    await eventually(() => {
      expect(modernSeen.tools.length).toBeGreaterThan(0);
      expect(legacySeen.tools.length).toBeGreaterThan(0);
    });
    expect(await names()).toContain('tools__from_modern');
  });

  it('relays tools/list_changed from a legacy upstream', async () => {
    reset(modernSeen, legacySeen);
    await legacy.callTool({ name: 'legacy__add_tool', arguments: { name: 'from_legacy' } });
    await eventually(() => {
      expect(modernSeen.tools.length).toBeGreaterThan(0);
      expect(legacySeen.tools.length).toBeGreaterThan(0);
    });
    expect(await names()).toContain('legacy__from_legacy');
  });

  it('finds a silent upstream change by the periodic re-list within ~2 s', async () => {
    reset(modernSeen, legacySeen);
    const t0 = Date.now();
    await modern.callTool({ name: 'quiet__add_tool', arguments: { name: 'unannounced' } });
    await eventually(() => {
      expect(modernSeen.tools.length).toBeGreaterThan(0);
      expect(legacySeen.tools.length).toBeGreaterThan(0);
    }, 2_500);
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(await names()).toContain('quiet__unannounced');
  });
});

describe('resource updates', () => {
  it('reach the legacy session that subscribed and the modern listener, nobody else', async () => {
    await legacy.subscribeResource({ uri: COUNTER });
    reset(modernSeen, legacySeen, bystanderSeen);
    await legacy.callTool({ name: 'content__bump', arguments: {} });
    await eventually(() => {
      expect(legacySeen.updated).toContainEqual(expect.objectContaining({ uri: COUNTER }));
      expect(modernSeen.updated).toContainEqual(expect.objectContaining({ uri: COUNTER }));
    });
    expect(bystanderSeen.updated).toEqual([]);
  });

  it('stop after resources/unsubscribe', async () => {
    await legacy.unsubscribeResource({ uri: COUNTER });
    reset(modernSeen, legacySeen);
    await modern.callTool({ name: 'content__bump', arguments: {} });
    await eventually(() => expect(modernSeen.updated.length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 200));
    expect(legacySeen.updated).toEqual([]);
  });
});

describe('legacy session features', () => {
  it('delivers notifications on the GET stream of a raw 2025-era session', async () => {
    const init = await rawPost(url, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const session = init.headers.get('mcp-session-id')!;
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': LEGACY };
    await rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
    const ac = new AbortController();
    const stream = await fetch(url, {
      headers: { ...headers, accept: 'text/event-stream' },
      signal: ac.signal,
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    await modern.callTool({ name: 'tools__add_tool', arguments: { name: 'for_get_stream' } });
    let text = '';
    while (!text.includes(METHODS.tools)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    ac.abort();
    expect(text).toContain(`"method":"${METHODS.tools}"`);
  });

  it('answers ping and passes logging/setLevel through', async () => {
    await expect(legacy.ping()).resolves.toEqual({});
    await expect(legacy.setLoggingLevel('debug')).resolves.toEqual({});
  });
});

describe('an upstream outage', () => {
  it('announces the prompts and resources it takes away, and those it brings back', async () => {
    reset(modernSeen, legacySeen);
    await content.stop();
    // The next use finds it gone; the proxy drops its entries and tells every client.
    await modern.callTool({ name: 'content__bump', arguments: {} }).catch(() => {});
    await eventually(() => {
      for (const seen of [modernSeen, legacySeen]) {
        expect(seen.prompts.length).toBeGreaterThan(0);
        expect(seen.resources.length).toBeGreaterThan(0);
      }
    });
    expect((await legacy.listPrompts()).prompts.some((p) => p.name.startsWith('content__'))).toBe(false);
    reset(modernSeen, legacySeen);
    content = await content.restart();
    await eventually(
      async () => {
        expect(modernSeen.prompts.length).toBeGreaterThan(0);
        expect(legacySeen.resources.length).toBeGreaterThan(0);
      },
      20_000,
      100,
    );
    expect((await legacy.listPrompts()).prompts.map((p) => p.name)).toContain('content__greeting');
    // The modern listener's resource subscription was re-established on the new connection.
    reset(modernSeen);
    await legacy.callTool({ name: 'content__bump', arguments: {} });
    await eventually(() =>
      expect(modernSeen.updated).toContainEqual(expect.objectContaining({ uri: COUNTER })),
    );
  }, 30_000);
});
