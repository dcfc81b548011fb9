import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type App, createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { silentLogger } from '../../src/log.ts';

export const MODERN = '2026-07-28';
export const LEGACY = '2025-11-25';

/** A config as {@link startProxy} runs it (listening on a free port of 127.0.0.1, audit off unless given). */
export function testConfig(raw: Record<string, unknown>): Config {
  // Audit records would go to stdout (the default sink) and interleave with the test reporter's output.
  const parsed = parseConfig({
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    audit: { sink: 'off' },
    ...raw,
  });
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
}

/** Starts the proxy in this process on a free port with the given config (raw, as in a config file). */
export async function startProxy(
  raw: Record<string, unknown>,
  upstreamWaitMs = 10_000,
): Promise<{ app: App; url: string }> {
  const app = await createApp(testConfig(raw), { log: silentLogger, upstreamWaitMs });
  const url = await app.listen(0, '127.0.0.1');
  return { app, url };
}

/** An SDK v2 client pinned to 2026-07-28: it never falls back to the legacy handshake. */
export async function modernClient(
  url: string,
  opts: ConstructorParameters<typeof Client>[1] = {},
): Promise<Client> {
  const client = new Client(
    { name: 'test-modern', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: MODERN } }, ...opts },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** An SDK v1 client: 2025-era only (initialize + Mcp-Session-Id). */
export async function legacyClient(url: string): Promise<{ client: V1Client; transport: V1Transport }> {
  const client = new V1Client({ name: 'test-legacy', version: '1.0.0' }, { capabilities: {} });
  const transport = new V1Transport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

export interface RawReply {
  status: number;
  headers: Headers;
  text: string;
  json?: {
    result?: Record<string, unknown>;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
}

/** One raw POST: for asserting status codes and headers the SDK clients would hide. */
export async function rawPost(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawReply> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: RawReply['json'];
  const dataLine = text.split('\n').find((l) => l.startsWith('data: {'));
  try {
    json = JSON.parse(dataLine ? dataLine.slice(6) : text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Headers and `_meta` envelope of a hand-built 2026-07-28 request. */
export function modernRequest(method: string, params: Record<string, unknown> = {}, id = 1, name?: string) {
  const headers: Record<string, string> = { 'mcp-protocol-version': MODERN, 'mcp-method': method };
  if (name) headers['mcp-name'] = name;
  const body = {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
        ...((params._meta as object | undefined) ?? {}),
      },
    },
  };
  return { headers, body };
}

export const SAMPLES = {
  tools: 'upstreams/tools-server.ts',
  content: 'upstreams/content-server.ts',
  legacy: 'test/fixtures/legacy-server.ts',
};

export const TSX_NODE = [process.execPath, '--import', 'tsx'];

export async function eventually<T>(fn: () => Promise<T> | T, ms = 10_000, step = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, step));
    }
  }
  throw last;
}
