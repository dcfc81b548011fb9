import type { Client } from '@modelcontextprotocol/client';
import type { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import {
  eventually,
  legacyClient,
  modernClient,
  modernRequest,
  rawPost,
  SAMPLES,
  startProxy,
  TSX_NODE,
} from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

/**
 * One federation over every transport the proxy speaks upstream: legacy SSE, legacy stdio, modern
 * stdio and modern Streamable HTTP, plus two instances of one server that claim the same resource
 * URIs. Everything is asserted as a client of either era sees it.
 */

// tools-server lists 10 built-in tools and 2 × page-size fillers.
const BUILTINS = [
  'echo',
  'add',
  'image',
  'audio',
  'fail',
  'slow',
  'stats',
  'add_tool',
  'remove_tool',
  'whoami',
];
const fillers = (n: number) => Array.from({ length: n }, (_, i) => `filler_${i}`);

let sseUp: StartedServer;
let httpUp: StartedServer;
let app: App;
let url: string;
let modern: Client;
let legacy: V1Client;

beforeAll(async () => {
  [sseUp, httpUp] = await Promise.all([
    startServer(SAMPLES.legacy, ['--transport', 'sse', '--port', '0']),
    // 60 per upstream page → 120 fillers: the merged catalog passes the proxy's page of 100.
    startServer(SAMPLES.tools, ['--port', '0', '--page-size', '60']),
  ]);
  ({ app, url } = await startProxy({
    upstreams: [
      { name: 'lsse', url: sseUp.url, transport: 'sse' },
      {
        name: 'lstdio',
        command: [...TSX_NODE, SAMPLES.legacy, '--transport', 'stdio'],
        expose: { tools: ['echo', 'slow', 'a*'], exclude: ['add_tool'] },
      },
      // 5 per upstream page: the proxy must follow the upstream's cursors to see all 21 tools.
      { name: 'mstdio', command: [...TSX_NODE, SAMPLES.tools, '--stdio', '--page-size', '5'] },
      { name: 'mhttp', prefix: '', url: httpUp.url, catalogRefreshSeconds: 1 },
      { name: 'c1', command: [...TSX_NODE, SAMPLES.content] },
      { name: 'c2', command: [...TSX_NODE, SAMPLES.content] },
    ],
  }));
  modern = await modernClient(url);
  ({ client: legacy } = await legacyClient(url));
}, 60_000);

afterAll(async () => {
  await modern?.close();
  await legacy?.close();
  await app?.close();
  await Promise.all([sseUp?.stop(), httpUp?.stop()]);
});

type Page = { names: string[]; nextCursor?: string };
type Lister = (cursor?: string) => Promise<Page>;

/** One raw tools/list page as a 2026-07-28 client: the SDK's listTools() without a cursor walks all pages itself. */
const modernPage: Lister = async (cursor) => {
  const { headers, body } = modernRequest('tools/list', cursor ? { cursor } : {});
  const reply = await rawPost(url, body, headers);
  if (!reply.json?.result) throw Object.assign(new Error(reply.json?.error?.message), reply.json?.error);
  const { tools, nextCursor } = reply.json.result as { tools: { name: string }[]; nextCursor?: string };
  return { names: tools.map((t) => t.name), nextCursor };
};
const legacyPage: Lister = async (cursor) => {
  const { tools, nextCursor } = await legacy.listTools(cursor ? { cursor } : {});
  return { names: tools.map((t) => t.name), nextCursor };
};

/** Follows nextCursor to the end: every name seen, and the size of each page. */
async function walk(page: Lister) {
  const names: string[] = [];
  const pageSizes: number[] = [];
  let cursor: string | undefined;
  do {
    const p = await page(cursor);
    names.push(...p.names);
    pageSizes.push(p.names.length);
    cursor = p.nextCursor;
  } while (cursor);
  return { names, pageSizes };
}

type Progress = (p: { progress: number }) => void;
type Call = (name: string, args: Record<string, unknown>, onprogress?: Progress) => Promise<unknown>;

/** tools/call as each era's SDK client makes it (v1 takes a result schema before the options). */
const eras = (): [string, Call][] => [
  ['modern', (name, args, onprogress) => modern.callTool({ name, arguments: args }, { onprogress })],
  [
    'legacy',
    (name, args, onprogress) => legacy.callTool({ name, arguments: args }, undefined, { onprogress }),
  ],
];
const text = (r: unknown) => (r as { content: { text?: string }[] }).content[0]?.text;

describe('every upstream transport in one catalog', () => {
  it('connects each upstream in the era it speaks', async () => {
    expect(modern.getProtocolEra()).toBe('modern');
    const ready = await (await fetch(url.replace('/mcp', '/readyz'))).json();
    const eraOf = Object.fromEntries(
      ready.upstreams.map((u: { name: string; state: string; era: string }) => [u.name, [u.state, u.era]]),
    );
    expect(eraOf).toEqual({
      lsse: ['ready', 'legacy'],
      lstdio: ['ready', 'legacy'],
      mstdio: ['ready', 'modern'],
      mhttp: ['ready', 'modern'],
      c1: ['ready', 'modern'],
      c2: ['ready', 'modern'],
    });
  });

  it('lists every upstream’s tools under its prefix, and mirrors names with prefix ""', async () => {
    const lists = [(await modern.listTools()).tools.map((t) => t.name), (await walk(legacyPage)).names];
    for (const names of lists) {
      expect(names).toEqual(
        expect.arrayContaining([
          'lsse__echo',
          'lsse__ask',
          'lstdio__echo',
          'mstdio__echo',
          'c1__bump',
          'c2__bump',
          // prefix "": the upstream's own names
          'echo',
          'add_tool',
          'filler_119',
        ]),
      );
      expect(names.some((n) => n.startsWith('mhttp__'))).toBe(false);
    }
  });

  it('trims an upstream’s catalog with expose.tools and expose.exclude', async () => {
    const names = (await modern.listTools()).tools.map((t) => t.name);
    // tools: echo, slow, a* (ask, add_tool); exclude takes add_tool back out; sample matches no glob.
    expect(names.filter((n) => n.startsWith('lstdio__')).sort()).toEqual([
      'lstdio__ask',
      'lstdio__echo',
      'lstdio__slow',
    ]);
    await expect(legacy.callTool({ name: 'lstdio__sample', arguments: { prompt: 'x' } })).rejects.toThrow(
      /unknown tool/,
    );
  });

  it('calls a tool on every transport from both eras, with progress through each', async () => {
    for (const [era, call] of eras()) {
      for (const prefix of ['lsse__', 'lstdio__', 'mstdio__', '']) {
        const where = `${era} → ${prefix || 'mhttp (no prefix) '}`;
        expect(text(await call(`${prefix}echo`, { text: where })), where).toBe(where);
        const seen: number[] = [];
        const slow = await call(`${prefix}slow`, { steps: 3, delayMs: 10 }, (p) => seen.push(p.progress));
        expect(text(slow), where).toBe('done after 3 steps');
        expect(seen, where).toEqual([1, 2, 3]);
      }
    }
  });
});

describe('one resource URI on two upstreams', () => {
  it('lists both under distinct URIs and routes each read to its own upstream', async () => {
    const uris = (await modern.listResources()).resources.map((r) => r.uri);
    expect(uris).toEqual(
      expect.arrayContaining(['mcp-fed://c1/content://counter', 'mcp-fed://c2/content://counter']),
    );
    expect(uris).not.toContain('content://counter');
    expect(new Set(uris).size).toBe(uris.length);

    await legacy.callTool({ name: 'c1__bump', arguments: {} });
    await modern.callTool({ name: 'c1__bump', arguments: {} });
    for (const c of [modern, legacy] as Client[]) {
      const one = await c.readResource({ uri: 'mcp-fed://c1/content://counter' });
      const two = await c.readResource({ uri: 'mcp-fed://c2/content://counter' });
      expect(one.contents).toEqual([
        { uri: 'mcp-fed://c1/content://counter', mimeType: 'text/plain', text: '2' },
      ]);
      expect(two.contents).toEqual([
        { uri: 'mcp-fed://c2/content://counter', mimeType: 'text/plain', text: '0' },
      ]);
    }
    const note = await legacy.readResource({ uri: 'mcp-fed://c2/content://notes/beta' });
    expect(note.contents[0]).toMatchObject({ text: 'Beta: the second note.' });
  });
});

describe('merged pagination', () => {
  const expected = [
    ...[...BUILTINS, ...fillers(10)].map((n) => `mstdio__${n}`),
    ...BUILTINS,
    ...fillers(120),
  ];

  it('follows upstream cursors and walks the merged list once, in pages of at most 100', async () => {
    for (const page of [modernPage, legacyPage]) {
      const { names, pageSizes } = await walk(page);
      expect(pageSizes.length).toBeGreaterThan(1);
      expect(Math.max(...pageSizes)).toBeLessThanOrEqual(100);
      expect(new Set(names).size).toBe(names.length);
      expect(names).toEqual(expect.arrayContaining(expected));
    }
    // The SDK's own walk (listTools() without a cursor) follows the proxy's cursors to the same list.
    const aggregated = (await modern.listTools()).tools.map((t) => t.name);
    expect(aggregated.sort()).toEqual((await walk(modernPage)).names.sort());
  });

  it('keeps a cursor valid across a periodic re-list that found nothing new', async () => {
    const first = await modernPage();
    await new Promise((r) => setTimeout(r, 2_200)); // mhttp re-lists every second
    const second = await modernPage(first.nextCursor);
    expect(second.names.length).toBeGreaterThan(0);
  });

  it('fails a cursor cut before a list_changed with INVALID_CURSOR, in both eras', async () => {
    const first = await modernPage();
    const legacyFirst = await legacyPage();
    await modern.callTool({ name: 'add_tool', arguments: { name: 'late_tool' } });
    await eventually(async () => expect((await walk(legacyPage)).names).toContain('late_tool'));
    await expect(modernPage(first.nextCursor)).rejects.toMatchObject({
      code: -32602,
      data: { code: 'INVALID_CURSOR' },
    });
    await expect(modern.listTools({ cursor: first.nextCursor })).rejects.toMatchObject({ code: -32602 });
    await expect(legacyPage(legacyFirst.nextCursor)).rejects.toMatchObject({ code: -32602 });
    // A fresh walk sees the new tool exactly once.
    const { names } = await walk(modernPage);
    expect(names.filter((n) => n === 'late_tool')).toHaveLength(1);
  });

  it('fails a garbage cursor with -32602', async () => {
    await expect(modernPage('not-a-cursor')).rejects.toMatchObject({
      code: -32602,
      data: { code: 'INVALID_CURSOR' },
    });
    await expect(legacyPage('%%%')).rejects.toMatchObject({ code: -32602 });
  });
});
