import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import type { Caller } from '../hooks/pipeline.ts';
import type { Federation } from '../router/federation.ts';
import type { SessionRecord } from '../store/session-store.ts';
import type { FastPath } from './fast-path.ts';
import { createProxyServer, type DownstreamContext } from './proxy-server.ts';

/** What the session table needs from a sessionful transport (created by initialize or rebuilt). */
export interface SessionTransport {
  handleRequest(req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void>;
  close(): Promise<void>;
  onclose?: () => void;
}

const LOCAL = 'http://session-rebuild.local/mcp';
const ACCEPT = 'application/json, text/event-stream';

/**
 * A sessionful transport for a session another replica initialized: it keeps the original
 * `Mcp-Session-Id`, and the caller replays the client's `initialize` (from the session record) into the
 * connected SDK Server with `replayInitialize`, so this replica negotiates what the first one did.
 */
export function rebuiltTransport(
  id: string,
  onsessionclosed?: (id: string) => Promise<void> | void,
): { web: WebStandardStreamableHTTPServerTransport; node: SessionTransport } {
  const web = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => id, onsessionclosed });
  const bodies = new WeakMap<IncomingMessage, unknown>();
  const listener = getRequestListener(
    (request, env) => web.handleRequest(request, { parsedBody: bodies.get((env as HttpBindings).incoming) }),
    { overrideGlobalObjects: false },
  );
  const node: SessionTransport = {
    async handleRequest(req, res, body) {
      if (body !== undefined) bodies.set(req, body);
      await listener(req, res);
    },
    close: () => web.close(),
    set onclose(handler: (() => void) | undefined) {
      web.onclose = handler;
    },
    get onclose() {
      return web.onclose;
    },
  };
  return { web, node };
}

/** Replays `initialize` + `notifications/initialized` from the record into a freshly connected server. */
export async function replayInitialize(
  web: WebStandardStreamableHTTPServerTransport,
  record: SessionRecord,
): Promise<void> {
  const init = {
    jsonrpc: '2.0',
    id: 'mcp-fed-rebuild',
    method: 'initialize',
    params: {
      protocolVersion: record.protocolVersion,
      capabilities: record.clientCapabilities ?? {},
      clientInfo: record.clientInfo ?? { name: 'unknown', version: '0' },
    },
  };
  const headers = { 'content-type': 'application/json', accept: ACCEPT };
  const first = await web.handleRequest(
    new Request(LOCAL, { method: 'POST', headers, body: JSON.stringify(init) }),
    { parsedBody: init },
  );
  const text = await first.text();
  const negotiated = /"protocolVersion":"([^"]+)"/.exec(text)?.[1];
  if (first.status !== 200 || !text.includes('"result"') || !negotiated)
    throw new Error(`session rebuild: initialize failed with ${first.status}`);
  const note = { jsonrpc: '2.0', method: 'notifications/initialized' };
  const second = await web.handleRequest(
    new Request(LOCAL, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': record.id, 'mcp-protocol-version': negotiated },
      body: JSON.stringify(note),
    }),
    { parsedBody: note },
  );
  await second.text();
}

/** The version a stateless request without `MCP-Protocol-Version` is served in (the HTTP transport's default). */
const STATELESS_DEFAULT_VERSION = '2025-03-26';

/**
 * `sessions.unknownId: stateless`: a request whose session id is unknown (a platform stamps its own
 * header) is served without a session: calls by the fast path, anything else by a throwaway SDK
 * Server that first replays an initialize in the request's protocol version.
 */
export async function serveStateless(
  fed: Federation,
  fast: FastPath,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  sessionId: string,
  caller: Caller,
): Promise<void> {
  if (fast.tryLegacy(req, res, body, caller, new Map())) return;
  const down: DownstreamContext = { era: 'legacy', caller, subscriptions: new Set() };
  const server = createProxyServer(fed, down);
  // Sessionful under the request's own id (the SDK's stateless transport serves one request only,
  // and the replayed initialize is one); nothing is stored and the server ends with the response.
  const { web, node } = rebuiltTransport(sessionId);
  await server.connect(web);
  res.once('close', () => void server.close().catch(() => {}));
  const header = req.headers['mcp-protocol-version'];
  if ((body as { method?: unknown } | null)?.method !== 'initialize') {
    await replayInitialize(web, {
      id: sessionId,
      caller: caller.id,
      protocolVersion: typeof header === 'string' ? header : STATELESS_DEFAULT_VERSION,
      upstreamSessions: {},
      createdAt: Date.now(),
    });
  }
  await node.handleRequest(req, res, body);
}
