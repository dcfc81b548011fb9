import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isInitializeRequest,
  isJsonContentType,
  isLegacyRequest,
  type McpServerFactory,
  readRequestBody,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { guardedListener, type RequestGuard } from './auth-guard.ts';
import { exitOnSignals, logErr } from './cli.ts';
import type { Fanout } from './fanout.ts';

const SESSION_IDLE_MS = 10 * 60_000;

export interface HttpServeOptions {
  host: string;
  port: number;
  path?: string;
  /** Checks every request (the raw path, headers and body bytes) before MCP sees it: auth samples. */
  guard?: RequestGuard;
}

function jsonRpcError(status: number, code: number, message: string, headers?: Record<string, string>) {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status, headers });
}

/**
 * One endpoint, both eras: 2026-07-28 traffic goes to a strict stateless `createMcpHandler`,
 * 2025 traffic to sessionful transports so those clients keep their GET stream (and with it
 * list_changed / resources/updated pushes) and can receive server-initiated requests.
 */
export async function serveHttp(factory: McpServerFactory, fanout: Fanout, opts: HttpServeOptions) {
  const path = opts.path ?? '/mcp';
  const modern = createMcpHandler(factory, { legacy: 'reject', onerror: (e) => logErr('[modern]', e) });
  fanout.addNotifier(modern.notify);
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  const lastSeen = new Map<string, number>();
  // SDK v1 clients do not DELETE their session on close, so reap idle ones instead of
  // letting a long benchmark accumulate them.
  const reaper = setInterval(() => {
    const cutoff = Date.now() - SESSION_IDLE_MS;
    for (const [id, seen] of lastSeen) {
      if (seen < cutoff) void sessions.get(id)?.close();
    }
  }, SESSION_IDLE_MS / 4);
  reaper.unref();

  const openSession = async (request: Request, parsedBody: unknown) => {
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
        lastSeen.set(id, Date.now());
      },
    });
    transport.onclose = () => {
      if (transport.sessionId === undefined) return;
      sessions.delete(transport.sessionId);
      lastSeen.delete(transport.sessionId);
    };
    const product = await factory({ era: 'legacy', requestInfo: request });
    fanout.track(product, 'legacy');
    await product.connect(transport);
    return transport.handleRequest(request, { parsedBody });
  };

  const fetch = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== path) return new Response('Not Found', { status: 404 });
    let parsedBody: unknown;
    if (request.method === 'POST') {
      if (!isJsonContentType(request.headers.get('content-type'))) {
        return jsonRpcError(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
      }
      // Parse once and hand the value to the classifier and whichever leg serves it.
      const body = await readRequestBody(request);
      if (body.tooLarge) return jsonRpcError(413, -32000, 'Request body too large');
      try {
        parsedBody = JSON.parse(body.text);
      } catch {
        return jsonRpcError(400, -32700, 'Parse error');
      }
    }
    if (!(await isLegacyRequest(request, parsedBody))) return modern.fetch(request, { parsedBody });

    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const transport = sessions.get(sessionId);
      if (!transport) return jsonRpcError(404, -32001, 'Session not found');
      lastSeen.set(sessionId, Date.now());
      return transport.handleRequest(request, { parsedBody });
    }
    if (request.method === 'POST' && isInitializeRequest(parsedBody)) return openSession(request, parsedBody);
    if (request.method === 'GET' || request.method === 'DELETE') {
      return jsonRpcError(405, -32000, 'Method not allowed without Mcp-Session-Id', { allow: 'POST' });
    }
    return jsonRpcError(400, -32000, 'Bad Request: no valid Mcp-Session-Id and not an initialize request');
  };

  const handler = toNodeHandler({ fetch }, { onerror: (e) => logErr('[http]', e) });
  const server = createServer(opts.guard ? guardedListener(handler, opts.guard) : handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}${path}`;

  const close = async () => {
    clearInterval(reaper);
    await modern.close().catch(() => {});
    await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url, close };
}

/** Serves over stdio; every connection instance is long-lived, so all of them are tracked. */
export function serveStdioTracked(factory: McpServerFactory, fanout: Fanout) {
  return serveStdio(
    async (ctx) => {
      const product = await factory(ctx);
      fanout.track(product, ctx.era);
      return product;
    },
    { onerror: (e) => logErr('[stdio]', e) },
  );
}

/** Entry point shared by the sample servers: the LISTENING line is the contract with tests and bench. */
export async function runMain(
  factory: McpServerFactory,
  fanout: Fanout,
  mode: { stdio: true } | ({ stdio: false } & HttpServeOptions),
): Promise<void> {
  if (mode.stdio) {
    const handle = serveStdioTracked(factory, fanout);
    exitOnSignals(() => handle.close());
    return;
  }
  const { url, close } = await serveHttp(factory, fanout, mode);
  exitOnSignals(close);
  process.stdout.write(`LISTENING ${url}\n`);
}
