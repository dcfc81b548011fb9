/**
 * One configurable SDK v1 (`@modelcontextprotocol/sdk` 1.x, 2025-era only) server for the interop
 * matrix, over `StreamableHTTPServerTransport`, in the shapes real 2025 servers take:
 *   --stateless | --stateful   (stateless: a new server and transport per request, no Mcp-Session-Id)
 *   --json                     enableJsonResponse (else SSE response streams)
 *   --event-store              an in-memory EventStore: priming events, resumable streams (SEP-1699)
 *   --event-store-streams N    keep the events of the newest N streams only (bench/upstream-shape-rows.ts)
 *   --close-mid-call           `slow` closes its response stream after the first progress (needs --event-store)
 *   --ask-standalone           `ask` / `sample` go out without relatedRequestId, on the standalone GET stream
 *   --port N                   (0 = random); prints `LISTENING <url>`
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { InMemoryEventStore } from './event-store.ts';
import { listenUntilSignal } from './listen.ts';
import { registerFixture, type V1Options } from './v1-fixture.ts';

const { values: flags } = parseArgs({
  options: {
    stateless: { type: 'boolean' },
    stateful: { type: 'boolean' },
    json: { type: 'boolean' },
    'event-store': { type: 'boolean' },
    'event-store-streams': { type: 'string' },
    'close-mid-call': { type: 'boolean' },
    'ask-standalone': { type: 'boolean' },
    port: { type: 'string' },
  },
  strict: true,
});
if (flags.stateless === flags.stateful) throw new Error('pass exactly one of --stateless / --stateful');
if (flags['close-mid-call'] && !flags['event-store']) throw new Error('--close-mid-call needs --event-store');
const maxStreams =
  flags['event-store-streams'] === undefined ? undefined : Number(flags['event-store-streams']);
if (maxStreams !== undefined && !(flags['event-store'] && maxStreams >= 1))
  throw new Error('--event-store-streams needs --event-store and a count >= 1');

const stateful = flags.stateful === true;
const eventStore = flags['event-store'] ? new InMemoryEventStore(maxStreams) : undefined;
const options: V1Options = {
  closeMidCall: flags['close-mid-call'] === true,
  askStandalone: flags['ask-standalone'] === true,
  // The SDK keeps the standalone stream in its web-standard transport's stream map (private fields).
  standaloneOpen: (id) => {
    const t = id === undefined ? undefined : (sessions.get(id) as unknown as Internals | undefined);
    return t?._webStandardTransport?._streamMapping?.has('_GET_stream') ?? true;
  },
};

interface Internals {
  _webStandardTransport?: { _streamMapping?: Map<string, unknown> };
}
const live = new Set<McpServer>();

function newServer(): McpServer {
  const mcp = new McpServer(
    { name: 'interop-sdk-v1', version: '1.0.0' },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: {},
        resources: { subscribe: true, listChanged: true },
      },
    },
  );
  registerFixture(mcp, live, options);
  return mcp;
}

const sessions = new Map<string, StreamableHTTPServerTransport>();

function newTransport(): StreamableHTTPServerTransport {
  const t: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: stateful ? () => randomUUID() : undefined,
    enableJsonResponse: flags.json === true,
    eventStore,
    retryInterval: eventStore ? 200 : undefined,
    onsessioninitialized: (id) => {
      sessions.set(id, t);
    },
  });
  return t;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

const error = (code: number, message: string) =>
  JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null });

const http = createServer(async (req, res) => {
  try {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    if (!stateful) {
      if (req.method !== 'POST') {
        res.writeHead(405, { allow: 'POST' }).end(error(-32000, 'Method not allowed'));
        return;
      }
      const mcp = newServer();
      const t = newTransport();
      res.on('close', () => {
        void t.close();
        void mcp.close();
      });
      await mcp.connect(t);
      await t.handleRequest(req, res, body);
      return;
    }
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const t = sessions.get(id);
      if (!t) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(error(-32001, 'Session not found'));
        return;
      }
      await t.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(error(-32000, 'No valid session'));
      return;
    }
    const mcp = newServer();
    const t = newTransport();
    t.onclose = () => {
      if (t.sessionId) sessions.delete(t.sessionId);
      live.delete(mcp);
    };
    live.add(mcp);
    await mcp.connect(t);
    await t.handleRequest(req, res, body);
  } catch (err) {
    process.stderr.write(`sdk-v1-server: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (!res.headersSent) res.writeHead(500).end(error(-32603, 'Internal error'));
  }
});

listenUntilSignal(http, Number(flags.port ?? 0), '/mcp');
