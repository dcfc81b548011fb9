/**
 * One face for both client eras, so the matrix runs the same checks through either: an SDK v2
 * client pinned to 2026-07-28, or an SDK v1 client (2025-11-25, sessions). Both declare
 * elicitation and sampling and answer them with fixed values the checks look for.
 */
import { Client, type McpSubscription, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as V1SSE } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport as V1Stdio } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

export type Era = 'modern' | 'legacy';
export const ANSWER_NAME = 'Ada Lovelace';
export const MODEL_SAYS = 'forty-two';
/** Every request gives up well before the test's own timeout, so a hang reads as an error. */
export const REQUEST_TIMEOUT_MS = 6_000;

/** Where a client connects: Streamable HTTP (several URLs = replicas, alternated per request), SSE or stdio. */
export type Endpoint =
  | { kind: 'http'; urls: string[] }
  | { kind: 'sse'; url: string }
  | { kind: 'stdio'; command: string[] };

type Args = Record<string, unknown>;
export interface CallOptions {
  onprogress?: (p: { progress: number }) => void;
  signal?: AbortSignal;
}
export interface ToolResult {
  content?: { type: string; text?: string; data?: string; mimeType?: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}
export interface Note {
  method: string;
  params?: { uri?: string };
}

export interface TestClient {
  era: Era;
  notes: Note[];
  callTool(name: string, args: Args, opts?: CallOptions): Promise<ToolResult>;
  getPrompt(name: string, args: Record<string, string>): Promise<{ messages: { content: unknown }[] }>;
  readResource(uri: string): Promise<{ contents: { uri: string; text?: string }[] }>;
  listTools(): Promise<string[]>;
  /** resources/subscribe (2025) or subscriptions/listen with the URI (2026-07-28). */
  subscribe(uri: string): Promise<void>;
  /** Nothing to do in 2025 (list_changed arrives unasked); subscriptions/listen in 2026-07-28. */
  watchListChanged(): Promise<void>;
  close(): Promise<void>;
}

/** A fetch that sends each request to the next URL in turn (a round-robin balancer). */
function roundRobin(urls: string[]): typeof fetch {
  let next = 0;
  return (_input, init) => fetch(urls[next++ % urls.length] as string, init);
}

const elicitAnswer = { action: 'accept' as const, content: { name: ANSWER_NAME } };
const sampleAnswer = {
  role: 'assistant' as const,
  model: 'interop-model',
  content: { type: 'text' as const, text: MODEL_SAYS },
};

export function connect(era: Era, endpoint: Endpoint): Promise<TestClient> {
  return era === 'modern' ? connectModern(endpoint) : connectLegacy(endpoint);
}

async function connectModern(endpoint: Endpoint): Promise<TestClient> {
  if (endpoint.kind !== 'http')
    throw new Error(`a 2026-07-28 client speaks Streamable HTTP only, not ${endpoint.kind}`);
  const client = new Client(
    { name: 'interop-modern', version: '1.0.0' },
    {
      versionNegotiation: { mode: { pin: '2026-07-28' } },
      capabilities: { elicitation: { form: {} }, sampling: {} },
    },
  );
  const notes: Note[] = [];
  client.setRequestHandler('elicitation/create', async () => elicitAnswer);
  client.setRequestHandler('sampling/createMessage', async () => sampleAnswer);
  for (const method of [
    'notifications/resources/updated',
    'notifications/tools/list_changed',
    'notifications/resources/list_changed',
  ] as const) {
    client.setNotificationHandler(method, (n) => {
      notes.push({ method, params: n.params as Note['params'] });
    });
  }
  const [first] = endpoint.urls;
  await client.connect(
    new StreamableHTTPClientTransport(new URL(first as string), { fetch: roundRobin(endpoint.urls) }),
  );
  const subs: McpSubscription[] = [];
  const timeout = REQUEST_TIMEOUT_MS;
  return {
    era: 'modern',
    notes,
    callTool: async (name, args, opts = {}) =>
      (await client.callTool({ name, arguments: args }, { ...opts, timeout })) as ToolResult,
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, { timeout }),
    readResource: async (uri) =>
      (await client.readResource({ uri }, { timeout, cacheMode: 'bypass' })) as {
        contents: { uri: string; text?: string }[];
      },
    listTools: async () =>
      (await client.listTools(undefined, { timeout, cacheMode: 'bypass' })).tools.map((t) => t.name),
    subscribe: async (uri) => {
      subs.push(await client.listen({ resourceSubscriptions: [uri] }, { timeout }));
    },
    watchListChanged: async () => {
      subs.push(await client.listen({ toolsListChanged: true, resourcesListChanged: true }, { timeout }));
    },
    close: async () => {
      for (const s of subs) await Promise.resolve(s.close()).catch(() => {});
      await client.close().catch(() => {});
    },
  };
}

async function connectLegacy(endpoint: Endpoint): Promise<TestClient> {
  const client = new V1Client(
    { name: 'interop-legacy', version: '1.0.0' },
    { capabilities: { elicitation: {}, sampling: {} } },
  );
  const notes: Note[] = [];
  client.setRequestHandler(ElicitRequestSchema, async () => elicitAnswer);
  client.setRequestHandler(CreateMessageRequestSchema, async () => sampleAnswer);
  for (const schema of [
    ResourceUpdatedNotificationSchema,
    ToolListChangedNotificationSchema,
    ResourceListChangedNotificationSchema,
  ]) {
    client.setNotificationHandler(schema, (n) => {
      notes.push({ method: n.method, params: n.params as Note['params'] });
    });
  }
  if (endpoint.kind === 'http') {
    const [first] = endpoint.urls;
    await client.connect(new V1Http(new URL(first as string), { fetch: roundRobin(endpoint.urls) }));
  } else if (endpoint.kind === 'sse') {
    await client.connect(new V1SSE(new URL(endpoint.url)));
  } else {
    const [command, ...args] = endpoint.command;
    await client.connect(new V1Stdio({ command: command as string, args, stderr: 'pipe' }));
  }
  const timeout = REQUEST_TIMEOUT_MS;
  return {
    era: 'legacy',
    notes,
    callTool: async (name, args, opts = {}) =>
      (await client.callTool({ name, arguments: args }, undefined, { ...opts, timeout })) as ToolResult,
    getPrompt: (name, args) => client.getPrompt({ name, arguments: args }, { timeout }),
    readResource: (uri) => client.readResource({ uri }, { timeout }),
    listTools: async () => (await client.listTools(undefined, { timeout })).tools.map((t) => t.name),
    subscribe: async (uri) => {
      await client.subscribeResource({ uri }, { timeout });
    },
    watchListChanged: async () => {},
    close: () => client.close().catch(() => {}),
  };
}
