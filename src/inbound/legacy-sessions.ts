import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { Server } from '@modelcontextprotocol/server';
import type { Config } from '../config/schema.ts';
import type { Caller } from '../hooks/pipeline.ts';
import type { Logger } from '../log.ts';
import type { ChangeEvent, Federation } from '../router/federation.ts';
import type { SessionStore } from '../session/session-store.ts';
import type { FastPath } from './fast-path.ts';
import { sendJsonRpcError } from './http-replies.ts';
import { createProxyServer, type DownstreamContext } from './proxy-server.ts';
import { notifySession } from './session-notify.ts';

interface LiveSession {
  id: string;
  caller: Caller;
  server: Server;
  transport: NodeStreamableHTTPServerTransport;
  down: DownstreamContext;
  lastSeen: number;
  /** Calls served by the fast path, so notifications/cancelled can abort them. */
  inflight: Map<string | number, AbortController>;
}

/**
 * 2025-era clients: `initialize`, `Mcp-Session-Id`, the GET stream, DELETE. Each session owns an SDK
 * Server over a sessionful transport; its metadata lives in the session store (bound to its caller).
 */
export class LegacySessions {
  private readonly live = new Map<string, LiveSession>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly fed: Federation,
    private readonly store: SessionStore,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly fast: FastPath,
  ) {
    fed.onChange((e) => this.broadcast(e));
    this.sweep = setInterval(() => this.expireIdle(), Math.min(60_000, config.sessions.ttlSeconds * 250));
    this.sweep.unref();
  }

  get size(): number {
    return this.live.size;
  }

  /** Serves a request that carries a session id; 404 for an unknown, expired or foreign session. */
  async handleExisting(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    sessionId: string,
    caller: Caller,
  ): Promise<boolean> {
    const session = this.live.get(sessionId);
    if (!session || session.caller.id !== caller.id) return false;
    if (!(await this.store.touch(sessionId, this.config.sessions.ttlSeconds))) {
      await this.end(session);
      return false;
    }
    if (Array.isArray(body)) {
      const version = session.server.getNegotiatedProtocolVersion?.() ?? '';
      if (version !== '2025-03-26') {
        sendJsonRpcError(
          res,
          400,
          null,
          -32600,
          `JSON-RPC batches are not allowed in protocol version ${version}`,
        );
        return true;
      }
    }
    session.lastSeen = Date.now();
    if (req.method === 'POST' && this.fastCancel(session, res, body)) return true;
    if (
      req.method === 'POST' &&
      versionOk(req, session) &&
      this.fast.tryLegacy(req, res, body, caller, session.inflight)
    )
      return true;
    await session.transport.handleRequest(req, res, body);
    return true;
  }

  /** Starts a session with an `initialize` request. */
  async initialize(req: IncomingMessage, res: ServerResponse, body: unknown, caller: Caller): Promise<void> {
    const down: DownstreamContext = { era: 'legacy', caller, subscriptions: new Set() };
    const server = createProxyServer(this.fed, down);
    let session: LiveSession | undefined;
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: async (id) => {
        session = { id, caller, server, transport, down, lastSeen: Date.now(), inflight: new Map() };
        this.live.set(id, session);
        await this.store.put(
          { id, caller: caller.id, protocolVersion: '', upstreamSessions: {}, createdAt: Date.now() },
          this.config.sessions.ttlSeconds,
        );
      },
      onsessionclosed: async (id) => {
        this.live.delete(id);
        if (session) this.release(session);
        await this.store.delete(id);
      },
    });
    transport.onclose = () => {
      if (!session) return;
      this.live.delete(session.id);
      this.release(session);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /** notifications/cancelled for a call the fast path is serving: abort it here (the SDK never saw it). */
  private fastCancel(session: LiveSession, res: ServerResponse, body: unknown): boolean {
    const msg = body as { method?: unknown; params?: { requestId?: unknown } };
    if (msg?.method !== 'notifications/cancelled') return false;
    const id = msg.params?.requestId;
    const ac = typeof id === 'string' || typeof id === 'number' ? session.inflight.get(id) : undefined;
    if (!ac) return false;
    ac.abort();
    res.writeHead(202).end();
    return true;
  }

  private broadcast(e: ChangeEvent): void {
    for (const s of this.live.values()) notifySession(s.server, e, s.down.subscriptions);
  }

  /** A session's resource subscriptions end with it, so upstreams stop following URIs nobody reads. */
  private release(session: LiveSession): void {
    const uris = session.down.subscriptions;
    if (!uris?.size) return;
    for (const uri of uris) {
      this.fed.subscription('resources/unsubscribe', uri).catch((err: Error) => {
        this.log.debug({ session: session.id, uri, err: err.message }, 'unsubscribe on session end failed');
      });
    }
    uris.clear();
  }

  private async end(session: LiveSession): Promise<void> {
    this.live.delete(session.id);
    this.release(session);
    await session.transport.close().catch(() => {});
    await this.store.delete(session.id);
  }

  private expireIdle(): void {
    const cutoff = Date.now() - this.config.sessions.ttlSeconds * 1000;
    for (const s of this.live.values()) {
      if (s.lastSeen < cutoff) {
        this.log.debug({ session: s.id }, 'legacy session expired');
        void this.end(s);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.live.values()].map((s) => this.end(s)));
  }
}

/** The fast path serves only requests whose protocol version header matches the session's. */
function versionOk(req: IncomingMessage, session: LiveSession): boolean {
  const header = req.headers['mcp-protocol-version'];
  const negotiated = session.server.getNegotiatedProtocolVersion?.();
  return negotiated !== undefined && (header === undefined || header === negotiated);
}
