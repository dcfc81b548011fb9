import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler, InMemoryServerEventBus, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { Config } from '../config/schema.ts';
import { JSONRPC } from '../errors.ts';
import type { Caller } from '../hooks/pipeline.ts';
import type { Logger } from '../log.ts';
import type { Federation } from '../router/federation.ts';
import { MemoryReplicaBus, type ReplicaBus } from '../store/replica-bus.ts';
import type { SessionStore } from '../store/session-store.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { isModernMessage } from './era.ts';
import { FastPath } from './fast-path.ts';
import { sendJsonRpcError } from './http-replies.ts';
import { LegacySessions } from './legacy-sessions.ts';
import { originAllowed } from './origin.ts';
import { createProxyServer } from './proxy-server.ts';
import { BodyTooLargeError, readBody } from './read-body.ts';
import { ANONYMOUS, hopsOf } from './request-context.ts';
import { rpcErrorOf } from './result-shape.ts';
import { serveStateless } from './session-rebuild.ts';

type AuthedRequest = IncomingMessage & {
  auth?: { token: string; clientId: string; scopes: string[]; extra?: Record<string, unknown> };
};

/**
 * The MCP path: checks Origin, reads and parses the body once, then routes modern (2026-07-28)
 * traffic to a stateless SDK handler and 2025-era traffic to its session.
 */
export class McpEndpoint {
  readonly sessions: LegacySessions;
  private readonly modern: McpHttpHandler;
  private readonly modernNode: ReturnType<typeof toNodeHandler>;
  private readonly fast: FastPath;

  constructor(
    private readonly fed: Federation,
    store: SessionStore,
    private readonly config: Config,
    log: Logger,
    bus: ReplicaBus = new MemoryReplicaBus(),
    metrics?: Metrics,
  ) {
    this.fast = new FastPath(fed);
    this.sessions = new LegacySessions(fed, store, config, log, this.fast, bus, metrics);
    this.modern = createMcpHandler(
      (mctx) => createProxyServer(fed, { era: 'modern', caller: callerOf(mctx.authInfo) }),
      {
        legacy: 'reject',
        bus: new InMemoryServerEventBus(),
        maxRequestBodySize: config.limits.maxBodyBytes,
        onerror: (err) => log.debug({ err: err.message }, 'modern handler error'),
      },
    );
    this.modernNode = toNodeHandler(this.modern, { maxRequestBodySize: config.limits.maxBodyBytes });
    fed.onChange((e) => {
      if (e.kind === 'tools') this.modern.notify.toolsChanged();
      else if (e.kind === 'prompts') this.modern.notify.promptsChanged();
      else if (e.kind === 'resources') this.modern.notify.resourcesChanged();
      else if (e.kind === 'resource_updated') this.modern.notify.resourceUpdated(e.uri);
    });
  }

  async handle(req: IncomingMessage, res: ServerResponse, caller: Caller = ANONYMOUS): Promise<void> {
    if (!originAllowed(req.headers.origin, this.config.limits.allowedOrigins)) {
      sendJsonRpcError(
        res,
        403,
        null,
        JSONRPC.INVALID_REQUEST,
        'Forbidden: this browser Origin is not allowed (only localhost and origins listed in limits.allowedOrigins are)',
      );
      return;
    }
    const sessionId = header(req, 'mcp-session-id');
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (!sessionId) {
        sendJsonRpcError(
          res,
          405,
          null,
          JSONRPC.INVALID_REQUEST,
          'Method not allowed: GET and DELETE need a 2025-era Mcp-Session-Id',
          undefined,
          {
            allow: 'POST',
          },
        );
        return;
      }
      if (!(await this.sessions.handleExisting(req, res, undefined, sessionId, caller)))
        this.unknownSession(res);
      return;
    }
    if (req.method !== 'POST') {
      sendJsonRpcError(res, 405, null, JSONRPC.INVALID_REQUEST, 'Method not allowed', undefined, {
        allow: 'POST, GET, DELETE',
      });
      return;
    }
    const type = header(req, 'content-type') ?? '';
    if (!type.toLowerCase().startsWith('application/json')) {
      sendJsonRpcError(
        res,
        415,
        null,
        JSONRPC.INVALID_REQUEST,
        'Unsupported Media Type: Content-Type must be application/json',
      );
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse((await readBody(req, this.config.limits.maxBodyBytes)).toString('utf8'));
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        sendJsonRpcError(res, 413, null, JSONRPC.INVALID_REQUEST, `Payload Too Large: ${err.message}`);
      else sendJsonRpcError(res, 400, null, JSONRPC.PARSE_ERROR, 'Parse error: the body is not valid JSON');
      return;
    }
    // Valid JSON that is no JSON-RPC message at all (42, "x", null, true): say so, in both eras,
    // before era routing sends it down a path whose error talks about sessions or parse errors.
    if (body === null || typeof body !== 'object') {
      sendJsonRpcError(
        res,
        400,
        null,
        JSONRPC.INVALID_REQUEST,
        'Invalid Request: the body must be a JSON-RPC message object (or, in a 2025-03-26 session, a batch array)',
      );
      return;
    }
    if (isModernMessage(body, header(req, 'mcp-protocol-version'))) {
      const mismatch = this.fed.paramHeaderMismatch(body, req.headers);
      if (mismatch) {
        sendJsonRpcError(
          res,
          400,
          idOf(body),
          JSONRPC.HEADER_MISMATCH,
          `Bad Request: the request headers and body disagree: ${mismatch}`,
        );
        return;
      }
      if (this.fast.tryModern(req, res, body, caller)) return;
      if (this.overHops(req, res, body, 'server/discover')) return;
      // The SDK serves subscriptions/listen itself; the upstreams must follow its resourceSubscriptions
      // (a 2026-07-28 upstream only sends resources/updated on a listen of its own) while it is open.
      const release = this.fed.watchListen(body, caller.id);
      if (release) res.once('close', release);
      (req as AuthedRequest).auth = authInfoOf(caller);
      await this.modernNode(req as AuthedRequest, res, body);
      return;
    }
    if (sessionId) {
      if (await this.sessions.handleExisting(req, res, body, sessionId, caller)) return;
      if (this.config.sessions.unknownId === 'stateless')
        await serveStateless(this.fed, this.fast, req, res, body, sessionId, caller);
      else this.unknownSession(res);
      return;
    }
    if (isInitialize(body)) {
      if (this.overHops(req, res, body, 'initialize')) return;
      await this.sessions.initialize(req, res, body, caller);
      return;
    }
    if (Array.isArray(body)) {
      sendJsonRpcError(
        res,
        400,
        null,
        JSONRPC.INVALID_REQUEST,
        'JSON-RPC batches are only allowed inside a 2025-03-26 session',
      );
      return;
    }
    sendJsonRpcError(
      res,
      400,
      idOf(body),
      JSONRPC.INVALID_REQUEST,
      'Bad Request: a 2025-era request needs an Mcp-Session-Id header (send initialize first), or use protocol 2026-07-28',
    );
  }

  /**
   * Discovery (the SDK answers `server/discover` and `initialize` itself) obeys `chain.maxHops` like lists
   * and calls do (DESIGN.md, "Correlation and chaining"): answers HOP_LIMIT and returns true when over.
   */
  private overHops(req: IncomingMessage, res: ServerResponse, body: unknown, method: string): boolean {
    const msg = body as { method?: unknown; params?: { _meta?: Record<string, unknown> } };
    if (msg.method !== method) return false;
    try {
      this.fed.checkHops(hopsOf(req.headers, msg.params?._meta));
      return false;
    } catch (err) {
      const e = rpcErrorOf(err);
      sendJsonRpcError(res, 200, idOf(body), e.code, e.message, e.data as Record<string, unknown>);
      return true;
    }
  }

  private unknownSession(res: ServerResponse): void {
    sendJsonRpcError(
      res,
      404,
      null,
      -32001,
      'Session not found: it expired, was deleted, or belongs to another caller',
    );
  }

  async close(): Promise<void> {
    await this.sessions.close();
    await this.modern.close();
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function isInitialize(body: unknown): boolean {
  return !Array.isArray(body) && (body as { method?: unknown })?.method === 'initialize';
}

function idOf(body: unknown): string | number | null {
  const id = (body as { id?: unknown })?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function authInfoOf(caller: Caller) {
  return { token: '', clientId: caller.id, scopes: [], extra: { groups: caller.groups } };
}

function callerOf(auth: { clientId?: string; extra?: Record<string, unknown> } | undefined): Caller {
  if (!auth?.clientId) return ANONYMOUS;
  return { id: auth.clientId, groups: (auth.extra?.groups as string[] | undefined) ?? [] };
}
