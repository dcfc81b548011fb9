import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { Config } from '../config/schema.ts';
import type { Caller } from '../hooks/pipeline.ts';
import type { Logger } from '../log.ts';
import type { ChangeEvent, Federation } from '../router/federation.ts';
import type { ReplicaBus } from '../store/replica-bus.ts';
import type { Admission, SessionRecord, SessionStore } from '../store/session-store.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { CallAbort } from '../upstream/call-signal.ts';
import { actingFor } from './auth/caller-tokens.ts';
import type { FastPath } from './fast-path.ts';
import { sendJsonRpcError, sendSessionsFull, sendStoreUnavailable } from './http-replies.ts';
import { createProxyServer, type DownstreamContext } from './proxy-server.ts';
import { notifySession } from './session-notify.ts';
import { rebuiltTransport, replayInitialize, type SessionTransport } from './session-rebuild.ts';
import { SessionSync, type SyncedSession } from './session-sync.ts';

interface LiveSession extends SyncedSession {
  caller: Caller;
  transport: SessionTransport;
  lastSeen: number;
  /** When this replica last extended the record's TTL (or read it fresh), and over which connection. */
  touchedAt: number;
  touchedOver: number | undefined;
  /** Calls served by the fast path, so notifications/cancelled can abort them. */
  inflight: Map<string | number, CallAbort>;
}

const SESSION_ENDED = 'legacy-session-ended';

/** Most live sessions one replica keeps (rebuilt ones included); the least recently used go first. */
const MAX_LIVE = 10_000;

/**
 * 2025-era clients: `initialize`, `Mcp-Session-Id`, the GET stream, DELETE. Each session's metadata
 * lives in the session store (bound to its caller); the replica that initialized it holds an SDK Server
 * over a sessionful transport, and any other replica rebuilds one from the record on first use, so a
 * shared (Redis) store lets every replica serve every session. The store's TTL is the session's life:
 * local state is only a cache, dropped when idle; DELETE removes the record, which every replica sees
 * on its next request for the session (404). A store that cannot be reached fails closed (503).
 */
export class LegacySessions {
  private readonly live = new Map<string, LiveSession>();
  private readonly bus: ReplicaBus;
  /** A tenth of the session TTL: how often a live session's record is touched at most. */
  private readonly touchEveryMs: number;
  private readonly rebuilding = new Map<string, Promise<LiveSession | undefined>>();
  private readonly sweep: NodeJS.Timeout;
  /** The session records and resource subscriptions this replica shares with the others. */
  private readonly sync: SessionSync;

  constructor(
    private readonly fed: Federation,
    private readonly store: SessionStore,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly fast: FastPath,
    bus: ReplicaBus,
    private readonly metrics?: Metrics,
  ) {
    this.sync = new SessionSync(fed, store, config, log, bus);
    this.bus = bus;
    this.touchEveryMs = config.sessions.ttlSeconds * 100;
    bus.onBroadcast((msg) => {
      const ended =
        msg.kind === SESSION_ENDED && typeof msg.session === 'string' && this.live.get(msg.session);
      if (ended) void this.dropLocal(ended);
    });
    fed.onChange((e) => this.broadcast(e));
    bus.onMessage((m) => this.sync.applyRemote(m, this.live.get(m.session)));
    this.sync.listen((id) => this.live.get(id));
    this.sweep = setInterval(() => this.expireIdle(), Math.min(60_000, config.sessions.ttlSeconds * 250));
    this.sweep.unref();
    metrics?.liveSessions(() => this.live.size);
  }

  get size(): number {
    return this.live.size;
  }

  /** Serves a request that carries a session id; false (→ 404) for an unknown, expired or foreign session. */
  async handleExisting(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    sessionId: string,
    caller: Caller,
  ): Promise<boolean> {
    let session = this.live.get(sessionId);
    if (session && session.caller.id !== caller.id) return false;
    try {
      // One EXPIRE keeps the session alive and tells whether another replica ended it. A call (POST) of
      // a session live here and touched within a tenth of its TTL over the same store connection skips
      // it (a DELETE elsewhere reaches this replica over the bus meanwhile), so a warm session's calls
      // cost the store nothing. A store known to be down is asked anyway (the request fails closed, 503),
      // and so is one reconnected since (a restarted Redis may have lost the record).
      const now = Date.now();
      const connection = this.store.connection();
      const warm =
        session !== undefined &&
        req.method === 'POST' &&
        connection !== undefined &&
        connection === session.touchedOver &&
        now - session.touchedAt < this.touchEveryMs;
      if (!warm) {
        if (!(await this.store.touch(sessionId, this.config.sessions.ttlSeconds, caller.id))) {
          if (session) await this.dropLocal(session);
          return false;
        }
        if (session) {
          session.touchedAt = now;
          session.touchedOver = connection;
        }
      }
      session ??= await this.rebuild(sessionId, caller);
    } catch (err) {
      this.log.debug({ session: sessionId, err: (err as Error).message }, 'session store unavailable');
      sendStoreUnavailable(res);
      return true;
    }
    if (!session) return false;
    // Most recently used last: eviction takes the first entries.
    this.live.delete(sessionId);
    this.live.set(sessionId, session);
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
    // The session's upstream sessions on a per-caller upstream (subscriptions, setLevel, GET streams) are
    // signed with its caller's newest credential, whichever request brought it.
    session.binding.actingFor = actingFor(caller);
    if (req.method === 'POST' && this.fastCancel(session, res, body)) return true;
    // The client's answer to an input request the proxy sent (on this replica or another).
    if (req.method === 'POST' && this.fed.bridge.asks.deliver(body, sessionId)) {
      res.writeHead(202).end();
      return true;
    }
    if (
      req.method === 'POST' &&
      versionOk(req, session) &&
      this.fast.tryLegacy(req, res, body, caller, session.inflight, this.sync.bound(session))
    )
      return true;
    await session.transport.handleRequest(req, res, body);
    return true;
  }

  /** Starts a session with an `initialize` request; the record is stored before the client learns the id. */
  async initialize(req: IncomingMessage, res: ServerResponse, body: unknown, caller: Caller): Promise<void> {
    const id = randomUUID();
    const params = (body as { params?: Record<string, unknown> }).params ?? {};
    let admitted: Admission;
    try {
      admitted = await this.store.admit(
        {
          id,
          caller: caller.id,
          protocolVersion: typeof params.protocolVersion === 'string' ? params.protocolVersion : '',
          clientInfo: params.clientInfo as SessionRecord['clientInfo'],
          clientCapabilities: params.capabilities as SessionRecord['clientCapabilities'],
          upstreamSessions: {},
          createdAt: Date.now(),
        },
        this.config.sessions.ttlSeconds,
        this.config.sessions,
      );
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'session store unavailable');
      sendStoreUnavailable(res);
      return;
    }
    if (!admitted.ok) {
      this.metrics?.sessions.inc({ state: 'refused' });
      this.log.warn(
        { caller: caller.id, max: this.config.sessions.max },
        'sessions.max reached: initialize refused',
      );
      sendSessionsFull(res);
      return;
    }
    // The caller's least recently used sessions made room: they end everywhere, as a DELETE would end them.
    for (const old of admitted.evicted) void this.ended(old, caller.id);
    const down = this.downstream(id, caller);
    const server = createProxyServer(this.fed, down);
    let session: LiveSession | undefined;
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessioninitialized: () => {
        session = {
          id,
          caller,
          server,
          transport,
          down,
          lastSeen: Date.now(),
          touchedAt: Date.now(),
          touchedOver: this.store.connection(),
          inflight: new Map(),
          binding: this.sync.binding(id, {}),
        };
        this.remember(session);
      },
      onsessionclosed: (closed) => this.closedByClient(closed, session),
    });
    transport.onclose = () => {
      if (session && this.live.get(session.id) === session) this.live.delete(session.id);
      if (session) this.sync.release(session);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
    if (!session) await this.store.delete(id, caller.id).catch(() => {});
  }

  /** A session another replica initialized: an SDK Server + transport rebuilt from its record. */
  private rebuild(id: string, caller: Caller): Promise<LiveSession | undefined> {
    let pending = this.rebuilding.get(id);
    if (!pending) {
      pending = this.rebuildNow(id, caller).finally(() => this.rebuilding.delete(id));
      this.rebuilding.set(id, pending);
    }
    return pending;
  }

  private async rebuildNow(id: string, caller: Caller): Promise<LiveSession | undefined> {
    const record = await this.store.get(id);
    if (!record || record.caller !== caller.id) return undefined;
    const down = this.downstream(id, caller);
    const server = createProxyServer(this.fed, down);
    let session: LiveSession | undefined;
    const { web, node } = rebuiltTransport(id, (closed) => this.closedByClient(closed, session));
    node.onclose = () => {
      if (session && this.live.get(id) === session) this.live.delete(id);
      if (session) this.sync.release(session);
    };
    await server.connect(web);
    try {
      await replayInitialize(web, record);
    } catch (err) {
      // A record this build cannot replay is a session it cannot serve: 404, so the client starts over.
      this.log.warn({ session: id, err: (err as Error).message }, 'legacy session rebuild failed');
      await web.close().catch(() => {});
      return undefined;
    }
    session = {
      id,
      caller,
      server,
      transport: node,
      down,
      lastSeen: Date.now(),
      touchedAt: Date.now(),
      touchedOver: this.store.connection(),
      inflight: new Map(),
      binding: { ...this.sync.binding(id, { ...record.upstreamSessions }), logLevel: record.logLevel },
    };
    this.remember(session);
    // Subscriptions made on another replica: this one may hold the GET stream, so its upstreams follow them too.
    await this.sync.follow(session, record.subscriptions ?? []);
    this.log.debug({ session: id }, 'legacy session rebuilt from the store');
    return session;
  }

  private remember(session: LiveSession): void {
    this.live.set(session.id, session);
    while (this.live.size > MAX_LIVE) {
      const oldest = this.live.values().next().value;
      if (!oldest) break;
      void this.dropLocal(oldest);
    }
  }

  /** DELETE from the client: the session ends everywhere. */
  private async closedByClient(id: string, session: LiveSession | undefined): Promise<void> {
    if (session && this.live.get(id) === session) this.live.delete(id);
    if (session) this.sync.release(session);
    // Ids opened on other replicas are in the record; read before it goes.
    const record = await this.store.get(id).catch(() => undefined);
    await this.store.delete(id, session?.caller.id ?? record?.caller);
    // Replicas holding a copy drop it now rather than at their next touch.
    await this.bus.broadcast({ kind: SESSION_ENDED, session: id }).catch(() => 0);
    void this.fed.endSession(id, { ...record?.upstreamSessions, ...session?.binding.known });
  }

  /** A session evicted for its caller's limit (its record already deleted): ended here and on every replica. */
  private async ended(id: string, caller: string): Promise<void> {
    this.metrics?.sessions.inc({ state: 'evicted' });
    this.log.info(
      { session: id, caller },
      'sessions.maxPerCaller reached: least recently used session ended',
    );
    const live = this.live.get(id);
    if (live) await this.dropLocal(live);
    await this.bus.broadcast({ kind: SESSION_ENDED, session: id }).catch(() => 0);
    void this.fed.endSession(id, live ? { ...live.binding.known } : undefined);
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

  private downstream(id: string, caller: Caller): DownstreamContext {
    const down: DownstreamContext = { era: 'legacy', caller, subscriptions: new Set() };
    down.subscriptionsChanged = () => this.sync.shareSubscriptions(id, down);
    down.logLevelChanged = (level) => this.sync.shareLogLevel(id, level);
    down.session = () => {
      const live = this.live.get(id);
      return live ? this.sync.bound(live) : undefined;
    };
    return down;
  }

  private broadcast(e: ChangeEvent): void {
    for (const s of this.live.values()) notifySession(s.server, e, s.down.subscriptions);
  }

  /** Ends this replica's state for a session; the record (shared with other replicas) stays. */
  private async dropLocal(session: LiveSession): Promise<void> {
    if (this.live.get(session.id) === session) this.live.delete(session.id);
    this.sync.release(session);
    await session.transport.close().catch(() => {});
  }

  /** Local state idle for a TTL is dropped; the store's own TTL decides when the session is gone. */
  private expireIdle(): void {
    const cutoff = Date.now() - this.config.sessions.ttlSeconds * 1000;
    for (const s of this.live.values()) {
      if (s.lastSeen < cutoff) {
        this.log.debug({ session: s.id }, 'legacy session idle: local state dropped');
        void this.dropLocal(s);
      }
    }
  }

  /** Shutting one replica down leaves its sessions to the others (their records stay in the store). */
  async close(): Promise<void> {
    clearInterval(this.sweep);
    await Promise.all([...this.live.values()].map((s) => this.dropLocal(s)));
  }
}

/** The fast path serves only requests whose protocol version header matches the session's. */
function versionOk(req: IncomingMessage, session: LiveSession): boolean {
  const header = req.headers['mcp-protocol-version'];
  const negotiated = session.server.getNegotiatedProtocolVersion?.();
  return negotiated !== undefined && (header === undefined || header === negotiated);
}
