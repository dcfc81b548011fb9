import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as V1SSE } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport as V1Stdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type StartedServer, startServer } from '../helpers/spawn-server.ts';

const PIN_MODERN = { versionNegotiation: { mode: { pin: '2026-07-28' as const } } };
const INFO = { name: 'sample-upstreams-test', version: '1.0.0' };
const BUILTIN_TOOLS = 10;

async function modernHttp(url: string, headers?: Record<string, string>): Promise<Client> {
  const client = new Client(INFO, PIN_MODERN);
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  expect(client.getProtocolEra()).toBe('modern');
  return client;
}

async function legacyHttp(url: string, headers?: Record<string, string>): Promise<V1Client> {
  const client = new V1Client(INFO);
  await client.connect(new V1Http(new URL(url), { requestInit: { headers } }));
  return client;
}

function stdioParams(script: string, args: string[] = []) {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', script, ...args],
    cwd: REPO_ROOT,
    stderr: 'pipe' as const,
  };
}

function textOf(result: unknown): string {
  const content = (result as { content?: Array<{ type: string; text?: string }> }).content;
  return content?.[0]?.type === 'text' ? (content[0].text ?? '') : '';
}

function resourceText(
  contents: ReadonlyArray<{ uri: string } & ({ text: string } | { blob: string })>,
): string {
  const first = contents[0];
  return first !== undefined && 'text' in first ? first.text : '';
}

async function waitFor<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 1_500,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * SDK clients (v1 and v2) run notification handlers a microtask late but settle responses at
 * once, so a last progress that arrives in the same read as the result can be dropped client
 * side. Require every earlier step, in order, and tolerate only the last one missing.
 */
function expectProgress(seen: number[], steps: number): void {
  expect(seen.length).toBeGreaterThanOrEqual(steps - 1);
  expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
}

type Stats = { slowStarted: number; slowCompleted: number; slowCancelled: number };
async function stats(client: Client | V1Client): Promise<Stats> {
  const params = { name: 'stats', arguments: {} };
  const result = client instanceof Client ? await client.callTool(params) : await client.callTool(params);
  return JSON.parse(textOf(result)) as Stats;
}

describe('tools-server (Streamable HTTP, both eras)', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer('upstreams/tools-server.ts', ['--port', '0', '--name', 'tools-it']);
  });
  afterAll(() => server?.stop());

  it('serves the modern era: tools with _meta, echo, structured add, isError, media', async () => {
    const client = await modernHttp(server.url);
    expect(client.getServerVersion()?.name).toBe('tools-it');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'slow', 'whoami']));
    expect(tools).toHaveLength(BUILTIN_TOOLS);
    expect(tools.find((t) => t.name === 'echo')?._meta).toEqual({ 'sample/kind': 'hot-path' });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: ' exact\ntext ' } }))).toBe(
      ' exact\ntext ',
    );
    const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } });
    expect(add.structuredContent).toEqual({ sum: 5.5 });
    const fail = await client.callTool({ name: 'fail', arguments: { message: 'boom' } });
    expect(fail.isError).toBe(true);
    expect(textOf(fail)).toBe('boom');
    const image = await client.callTool({ name: 'image', arguments: {} });
    expect(image.content?.[0]).toMatchObject({ type: 'image', mimeType: 'image/png' });
    const audio = await client.callTool({ name: 'audio', arguments: {} });
    expect(audio.content?.[0]).toMatchObject({ type: 'audio', mimeType: 'audio/wav' });
    await client.close();
  });

  it('whoami reports x-/mcp-/traceparent headers and params._meta', async () => {
    const client = await modernHttp(server.url, { 'x-tenant': 't1', traceparent: '00-0af7-b7ad-01' });
    const who = JSON.parse(
      textOf(await client.callTool({ name: 'whoami', arguments: {}, _meta: { 'example.com/k': 'v' } })),
    );
    expect(who.headers).toMatchObject({
      'x-tenant': 't1',
      traceparent: '00-0af7-b7ad-01',
      'mcp-name': 'whoami',
    });
    expect(who._meta).toMatchObject({
      'example.com/k': 'v',
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    });
    await client.close();
  });

  it('modern: slow reports progress, and closing the stream cancels it', async () => {
    const client = await modernHttp(server.url);
    const progress: number[] = [];
    const done = await client.callTool(
      { name: 'slow', arguments: { steps: 3, delayMs: 10 } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(textOf(done)).toBe('done after 3 steps');
    expectProgress(progress, 3);

    const before = await stats(client);
    const abort = new AbortController();
    const call = client.callTool(
      { name: 'slow', arguments: { steps: 50, delayMs: 20 } },
      { signal: abort.signal },
    );
    setTimeout(() => abort.abort(), 100);
    await expect(call).rejects.toThrow();
    await waitFor(
      async () => (await stats(client)).slowCancelled === before.slowCancelled + 1,
      'slowCancelled',
    );
    await client.close();
  });

  it('legacy (SDK v1, sessionful): whoami, echo, progress, cancellation via notifications/cancelled', async () => {
    const client = await legacyHttp(server.url, { 'x-tenant': 't2' });
    expect(client.getServerVersion()?.name).toBe('tools-it');
    const who = JSON.parse(textOf(await client.callTool({ name: 'whoami', arguments: {}, _meta: { k: 1 } })));
    expect(who.headers).toMatchObject({ 'x-tenant': 't2', 'mcp-session-id': expect.any(String) });
    expect(who._meta).toEqual({ k: 1 });
    const { tools } = await client.listTools();
    expect(tools.find((t) => t.name === 'echo')?._meta).toEqual({ 'sample/kind': 'hot-path' });
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'v1' } }))).toBe('v1');
    const progress: number[] = [];
    await client.callTool({ name: 'slow', arguments: { steps: 3, delayMs: 10 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expectProgress(progress, 3);

    const before = await stats(client);
    const abort = new AbortController();
    const call = client.callTool({ name: 'slow', arguments: { steps: 50, delayMs: 20 } }, undefined, {
      signal: abort.signal,
    });
    setTimeout(() => abort.abort('test'), 100);
    await expect(call).rejects.toThrow();
    await waitFor(
      async () => (await stats(client)).slowCancelled === before.slowCancelled + 1,
      'slowCancelled',
    );
    await client.close();
  });

  it('add_tool/remove_tool notify a legacy session and a modern subscriptions/listen stream', async () => {
    const legacy = await legacyHttp(server.url);
    let legacyNotes = 0;
    legacy.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      legacyNotes++;
    });
    const modern = await modernHttp(server.url);
    let modernNotes = 0;
    modern.setNotificationHandler('notifications/tools/list_changed', () => {
      modernNotes++;
    });
    const sub = await modern.listen({ toolsListChanged: true });
    expect(sub.honoredFilter.toolsListChanged).toBe(true);

    expect(textOf(await modern.callTool({ name: 'add_tool', arguments: { name: 'dyn_a' } }))).toBe(
      'added tool dyn_a',
    );
    await waitFor(() => legacyNotes >= 1 && modernNotes >= 1, 'list_changed after add');
    expect(textOf(await legacy.callTool({ name: 'dyn_a', arguments: {} }))).toBe('dynamic dyn_a');
    expect((await legacy.listTools()).tools.map((t) => t.name)).toContain('dyn_a');

    await legacy.callTool({ name: 'remove_tool', arguments: { name: 'dyn_a' } });
    await waitFor(() => legacyNotes >= 2 && modernNotes >= 2, 'list_changed after remove');
    expect((await modern.listTools({}, { cacheMode: 'bypass' })).tools.map((t) => t.name)).not.toContain(
      'dyn_a',
    );
    await sub.close();
    await Promise.all([modern.close(), legacy.close()]);
  });

  it('restart() brings the server back on the same URL', async () => {
    const restarted = await server.restart();
    expect(restarted.url).toBe(server.url);
    server = restarted;
    const client = await modernHttp(server.url);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'again' } }))).toBe('again');
    await client.close();
  });
});

describe('tools-server --page-size', () => {
  let server: StartedServer;
  beforeAll(async () => {
    server = await startServer('upstreams/tools-server.ts', ['--page-size', '4']);
  });
  afterAll(() => server?.stop());

  it('paginates tools/list with nextCursor in both eras', async () => {
    const total = BUILTIN_TOOLS + 8;
    const modern = await modernHttp(server.url);
    // listTools() without a cursor aggregates every page, so fetch raw pages via request().
    const names: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await modern.request({
        method: 'tools/list',
        params: cursor === undefined ? {} : { cursor },
      });
      expect(page.tools.length).toBeLessThanOrEqual(4);
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(names).toHaveLength(total);
    expect(names).toContain('filler_7');
    expect((await modern.listTools()).tools).toHaveLength(total);
    await expect(modern.listTools({ cursor: 'bogus' })).rejects.toThrow();

    const legacy = await legacyHttp(server.url);
    const page = await legacy.listTools();
    expect(page.tools).toHaveLength(4);
    expect((await legacy.listTools({ cursor: page.nextCursor })).tools[0]?.name).toBe(names[4]);
    await Promise.all([modern.close(), legacy.close()]);
  });
});

describe('tools-server --stdio', () => {
  const client = new Client(INFO, PIN_MODERN);
  beforeAll(() =>
    client.connect(new StdioClientTransport(stdioParams('upstreams/tools-server.ts', ['--stdio']))),
  );
  afterAll(() => client.close());

  it('serves a modern client over stdio', async () => {
    expect(client.getProtocolEra()).toBe('modern');
    expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'pipe' } }))).toBe('pipe');
  });
});

async function checkContent(client: Client): Promise<void> {
  const greeting = await client.getPrompt({ name: 'greeting', arguments: { name: 'Ann', style: 'pirate' } });
  expect(greeting.messages[0]?.content).toEqual({ type: 'text', text: 'Ahoy, Ann!' });
  const summary = await client.getPrompt({ name: 'summary', arguments: { topic: 'MCP' } });
  expect(summary.messages[0]?.content).toMatchObject({ text: 'Please summarise: MCP' });
  const readme = await client.readResource({ uri: 'content://readme' });
  expect(readme.contents[0]).toMatchObject({ mimeType: 'text/markdown' });
  const logo = await client.readResource({ uri: 'content://logo' });
  expect(logo.contents[0]).toHaveProperty('blob');
  const { resourceTemplates } = await client.listResourceTemplates();
  expect(resourceTemplates.map((t) => t.uriTemplate)).toContain('content://notes/{id}');
  const note = await client.readResource({ uri: 'content://notes/beta' });
  expect(note.contents[0]).toMatchObject({ text: 'Beta: the second note.' });
  const style = await client.complete({
    ref: { type: 'ref/prompt', name: 'greeting' },
    argument: { name: 'style', value: 'p' },
  });
  expect(style.completion.values).toEqual(['pirate']);
  const id = await client.complete({
    ref: { type: 'ref/resource', uri: 'content://notes/{id}' },
    argument: { name: 'id', value: 'g' },
  });
  expect(id.completion.values).toEqual(['gamma']);
}

async function expectModernCounterUpdate(client: Client): Promise<void> {
  const updates: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updates.push(n.params.uri);
  });
  const sub = await client.listen({ resourceSubscriptions: ['content://counter'] });
  expect(sub.honoredFilter.resourceSubscriptions).toEqual(['content://counter']);
  const before = Number(resourceText((await client.readResource({ uri: 'content://counter' })).contents));
  await client.callTool({ name: 'bump', arguments: {} });
  await waitFor(() => updates.includes('content://counter'), 'resources/updated');
  const after = await client.readResource({ uri: 'content://counter' }, { cacheMode: 'bypass' });
  expect(Number(resourceText(after.contents))).toBe(before + 1);
  await sub.close();
}

describe('content-server', () => {
  // Spawning dominates the cost, so every child starts in parallel up front.
  const modernStdio = new Client(INFO, PIN_MODERN);
  const legacyStdio = new V1Client(INFO);
  beforeAll(async () => {
    await Promise.all([
      modernStdio.connect(new StdioClientTransport(stdioParams('upstreams/content-server.ts'))),
      legacyStdio.connect(new V1Stdio(stdioParams('upstreams/content-server.ts'))),
    ]);
  });
  afterAll(() => Promise.all([modernStdio.close(), legacyStdio.close()]));

  it('stdio, modern client: prompts, resources, templates, completion, updates, progress', async () => {
    expect(modernStdio.getProtocolEra()).toBe('modern');
    await checkContent(modernStdio);
    await expectModernCounterUpdate(modernStdio);
    const progress: number[] = [];
    const counted = await modernStdio.callTool(
      { name: 'slow_count', arguments: { n: 3, delayMs: 5 } },
      { onprogress: (p) => progress.push(p.progress) },
    );
    expect(textOf(counted)).toBe('counted to 3');
    expectProgress(progress, 3);
  });

  it('stdio, legacy client: resources/subscribe then bump sends resources/updated', async () => {
    const updates: string[] = [];
    legacyStdio.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await legacyStdio.subscribeResource({ uri: 'content://counter' });
    await legacyStdio.callTool({ name: 'bump', arguments: {} });
    await waitFor(() => updates.includes('content://counter'), 'resources/updated');
  });

  describe('over HTTP (--port 0)', () => {
    let server: StartedServer;
    beforeAll(async () => {
      server = await startServer('upstreams/content-server.ts', ['--port', '0']);
    });
    afterAll(() => server?.stop());

    it('modern client: content and listen(resourceSubscriptions)', async () => {
      const client = await modernHttp(server.url);
      await checkContent(client);
      await expectModernCounterUpdate(client);
      await client.close();
    });

    it('legacy client: resources/subscribe, updated pushed on the session stream', async () => {
      const client = await legacyHttp(server.url);
      const updates: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
        updates.push(n.params.uri);
      });
      await client.subscribeResource({ uri: 'content://counter' });
      const other = await modernHttp(server.url);
      await other.callTool({ name: 'bump', arguments: {} });
      await waitFor(() => updates.includes('content://counter'), 'resources/updated');
      await Promise.all([client.close(), other.close()]);
    });
  });
});

function answeringClient(): V1Client {
  const client = new V1Client(INFO, { capabilities: { elicitation: {}, sampling: {} } });
  client.setRequestHandler(ElicitRequestSchema, (req) => ({
    action: 'accept',
    content: { answer: `answer to ${req.params.message}` },
  }));
  client.setRequestHandler(CreateMessageRequestSchema, () => ({
    model: 'test-model',
    role: 'assistant',
    content: { type: 'text', text: 'sampled text' },
  }));
  return client;
}

async function checkLegacyServer(client: V1Client): Promise<void> {
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'old' } }))).toBe('old');
  expect(textOf(await client.callTool({ name: 'ask', arguments: { question: 'why?' } }))).toBe(
    'answer to why?',
  );
  expect(textOf(await client.callTool({ name: 'sample', arguments: { prompt: 'hi' } }))).toBe('sampled text');
}

describe('legacy-server (SDK v1 fixture)', () => {
  let http: StartedServer;
  let sse: StartedServer;
  const stdio = answeringClient();
  beforeAll(async () => {
    [http, sse] = await Promise.all([
      startServer('test/fixtures/legacy-server.ts', ['--transport', 'streamable-http']),
      startServer('test/fixtures/legacy-server.ts', ['--transport', 'sse']),
      stdio.connect(new V1Stdio(stdioParams('test/fixtures/legacy-server.ts', ['--transport', 'stdio']))),
    ]);
  });
  afterAll(() => Promise.all([http?.stop(), sse?.stop(), stdio.close()]));

  it('streamable-http: elicitation, sampling, progress, list_changed, prompt, resource', async () => {
    const client = answeringClient();
    await client.connect(new V1Http(new URL(http.url)));
    await checkLegacyServer(client);
    const progress: number[] = [];
    await client.callTool({ name: 'slow', arguments: { steps: 3, delayMs: 5 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    });
    expectProgress(progress, 3);
    let changed = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changed++;
    });
    await client.callTool({ name: 'add_tool', arguments: { name: 'late' } });
    await waitFor(() => changed > 0, 'list_changed');
    expect(textOf(await client.callTool({ name: 'late', arguments: {} }))).toBe('dynamic late');
    const hello = await client.getPrompt({ name: 'hello', arguments: { name: 'Bo' } });
    expect(hello.messages[0]?.content).toMatchObject({ text: 'Hello, Bo!' });
    const info = await client.readResource({ uri: 'legacy://info' });
    expect(info.contents[0]).toMatchObject({ uri: 'legacy://info' });
    await client.close();
  });

  it('sse: elicitation and sampling over GET /sse + POST /messages', async () => {
    expect(sse.url).toMatch(/\/sse$/);
    const client = answeringClient();
    await client.connect(new V1SSE(new URL(sse.url)));
    await checkLegacyServer(client);
    await client.close();
  });

  it('stdio: elicitation and sampling', async () => {
    await checkLegacyServer(stdio);
  });
});
