/**
 * The conformance fixture: an MCP server implementing what the official suite's server scenarios require
 * (`npx conformance list --server`; each scenario prints its requirements), both eras on one path:
 * 2025-era traffic gets sessionful SDK v2 transports with an event store (priming events, `retry:`,
 * resumption with Last-Event-ID, a standalone GET stream); 2026-07-28 traffic goes to a stateless
 * `createMcpHandler`. Host and Origin are checked against localhost (DNS rebinding protection).
 * `--era legacy` serves 2025 only, as most deployed servers do: a 2026-07-28 request (server/discover
 * included) gets the answer a 2025 server gives a request without a session, so a client falls back to
 * initialize.
 * Usage: node --import tsx test/conformance/fixture-server.ts [--port N] [--era both|legacy]
 * (prints `LISTENING <url>`)
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  type EventStore,
  hostHeaderValidationResponse,
  isInitializeRequest,
  isLegacyRequest,
  type JSONRPCMessage,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  McpServer,
  originValidationResponse,
  type ProtocolEra,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { CAPABILITIES, registerCommon, SERVER_INFO } from './fixture-common.ts';
import { registerLegacy } from './fixture-legacy.ts';
import { dynamic, registerModern, requestStateOption } from './fixture-modern.ts';

const { values } = parseArgs({
  options: { port: { type: 'string' }, host: { type: 'string' }, era: { type: 'string', default: 'both' } },
});
if (values.era !== 'both' && values.era !== 'legacy') throw new Error(`--era must be both or legacy`);
const legacyOnly = values.era === 'legacy';
const host = values.host ?? '127.0.0.1';
const port = Number(values.port ?? 0);
const PATH = '/mcp';
const RETRY_MS = 500;

function factory({ era }: { era: ProtocolEra }): McpServer {
  const mcp = new McpServer(SERVER_INFO, {
    capabilities: CAPABILITIES,
    instructions: 'mcp-fed conformance fixture',
    requestState: requestStateOption,
  });
  registerCommon(mcp);
  if (era === 'legacy') registerLegacy(mcp);
  else registerModern(mcp);
  return mcp;
}

/** Keeps every event of every stream in memory (the fixture lives for one test run). */
function memoryEventStore(): EventStore {
  let seq = 0;
  const events: { id: string; streamId: string; message: JSONRPCMessage }[] = [];
  return {
    async storeEvent(streamId, message) {
      const id = `${streamId}.${++seq}`;
      events.push({ id, streamId, message });
      return id;
    },
    async getStreamIdForEventId(eventId) {
      return events.find((e) => e.id === eventId)?.streamId;
    },
    async replayEventsAfter(lastEventId, { send }) {
      const index = events.findIndex((e) => e.id === lastEventId);
      const streamId = events[index]?.streamId ?? lastEventId.slice(0, lastEventId.lastIndexOf('.'));
      for (const e of events.slice(index + 1)) {
        if (e.streamId === streamId) await send(e.id, e.message);
      }
      return streamId;
    },
  };
}

const jsonRpcError = (status: number, code: number, message: string) =>
  Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status });

const modern = createMcpHandler((ctx) => factory({ era: ctx.era }), {
  legacy: 'reject',
  onerror: (e) => process.stderr.write(`[modern] ${String(e)}\n`),
});
dynamic.notifier = modern.notify;
const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
const eventStore = memoryEventStore();

async function openSession(request: Request, parsedBody: unknown): Promise<Response> {
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore,
    retryInterval: RETRY_MS,
    onsessioninitialized: (id) => {
      sessions.set(id, transport);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
  };
  await factory({ era: 'legacy' }).connect(transport);
  return transport.handleRequest(request, { parsedBody });
}

async function handle(request: Request): Promise<Response> {
  const rejected =
    hostHeaderValidationResponse(request, localhostAllowedHostnames()) ??
    originValidationResponse(request, localhostAllowedOrigins());
  if (rejected) return rejected;
  if (new URL(request.url).pathname !== PATH) return new Response('Not Found', { status: 404 });
  let parsedBody: unknown;
  if (request.method === 'POST') {
    try {
      parsedBody = await request.json();
    } catch {
      return jsonRpcError(400, -32700, 'Parse error');
    }
  }
  if (!legacyOnly && !(await isLegacyRequest(request, parsedBody)))
    return modern.fetch(request, { parsedBody });

  const sessionId = request.headers.get('mcp-session-id');
  if (sessionId) {
    const transport = sessions.get(sessionId);
    if (!transport) return jsonRpcError(404, -32001, 'Session not found');
    return transport.handleRequest(request, { parsedBody });
  }
  if (request.method === 'POST' && isInitializeRequest(parsedBody)) return openSession(request, parsedBody);
  if (request.method === 'GET' || request.method === 'DELETE') {
    return jsonRpcError(405, -32000, 'Method not allowed without Mcp-Session-Id');
  }
  return jsonRpcError(400, -32000, 'Bad Request: no valid Mcp-Session-Id and not an initialize request');
}

const server = createServer(
  toNodeHandler({ fetch: handle }, { onerror: (e) => process.stderr.write(`[http] ${String(e)}\n`) }),
);
server.listen(port, host, () => {
  const { port: bound } = server.address() as AddressInfo;
  process.stdout.write(`LISTENING http://${host}:${bound}${PATH}\n`);
});
const stop = () => {
  void modern.close().catch(() => {});
  for (const t of sessions.values()) void t.close().catch(() => {});
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
