import { LRUCache } from 'lru-cache';
import type { Logger } from '../log.ts';
import type { ReplicaBus } from '../store/replica-bus.ts';
import type { StreamLeases } from '../store/stream-leases.ts';
import type { ActingFor } from './auth/types.ts';
import type { StreamableHttpClient } from './http/streamable-http-client.ts';
import { SessionInbox } from './session-inbox.ts';
import { SessionStreams } from './session-streams.ts';
import type { ListKind } from './upstream-lists.ts';

/**
 * Whose upstream session a call uses on a 2025-era upstream (DESIGN.md, "Upstream sessions"): each
 * downstream session, or for a 2026-07-28 client each caller identity, gets its own, so upstream
 * state (client capabilities for elicitation and sampling, roots, log level) belongs to one client.
 */
export interface SessionBinding {
  /** A downstream session id, or `caller\0<id>` for modern clients. */
  key: string;
  /** Declared in the upstream `initialize` (what the upstream may ask this client for). */
  clientCapabilities?: Record<string, unknown>;
  /** The downstream session's upstream session ids, by upstream name (from its session record). */
  known?: Record<string, string>;
  /** The level its logging/setLevel asked for (2026-07-28 upstreams get it in each call's `_meta`). */
  logLevel?: string;
  /**
   * The caller whose latest call used it (per-caller auth): the session's initialize, GET stream and
   * DELETE are signed for that caller, never as the proxy.
   */
  actingFor?: ActingFor;
  /** Reads the id another replica may have stored since (before opening a new session). */
  lookup?(upstream: string): Promise<string | undefined>;
  /**
   * A new upstream session was opened for it: store the id with the downstream session. Resolves with
   * another id when another replica stored one first (both opened at once): that one is used, so the
   * client's calls and subscriptions meet in one upstream session. `replacing`: the stored id is one
   * the upstream forgot (404), overwritten whatever it is.
   */
  opened?(upstream: string, sessionId: string, replacing?: string): Promise<string | undefined>;
  /**
   * Sends a notification to this client outside any call: what its session on `upstream` carried on
   * its GET stream, with the upstream's own names (the binding maps them to public ones).
   */
  notify?(upstream: string, method: string, params: Record<string, unknown> | undefined): void;
}

/** The upstream answered `initialize` without `Mcp-Session-Id`: a stateless server, calls carry no id. */
export const NO_SESSION = '';

const MAX_SESSIONS = 10_000;
const CLIENT_INFO = { name: 'mcp-fed', version: '0.1.0' };

/**
 * The per-client upstream sessions of one Streamable HTTP upstream, opened lazily with an
 * `initialize` over the upstream's HTTP client (no SDK client per session). Ids found in a session
 * record are used as they are, so another replica continues the same upstream session. The replica
 * that opens a session holds its standalone GET stream, whose requests go to the client's call in
 * flight (SessionInbox).
 */
export class UpstreamSessions {
  private readonly ids = new LRUCache<string, string>({
    max: MAX_SESSIONS,
    dispose: (_id, key) => this.streams.drop(key),
  });
  private readonly opening = new Map<string, Promise<string>>();
  /** Whose credential ends each session (per-caller auth): the last caller that used it. */
  private readonly owners = new LRUCache<string, ActingFor>({ max: MAX_SESSIONS });
  /** Ids the upstream answered 404 for: a record still holding one is stale. */
  private readonly gone = new LRUCache<string, true>({ max: 1_000 });
  private readonly streams: SessionStreams;
  readonly inbox: SessionInbox;
  private nextId = 0;

  constructor(
    private readonly http: StreamableHttpClient,
    private readonly upstream: string,
    private readonly timeoutMs: number,
    log: Logger,
    /** A client's upstream session said a list changed: the shared catalog is re-listed. */
    onListChanged: (kinds: ListKind[]) => Promise<void> = async () => {},
  ) {
    this.inbox = new SessionInbox(http, upstream, timeoutMs, log, onListChanged);
    this.streams = new SessionStreams(http, upstream, this.inbox, log);
  }

  /** Replicas share the GET streams' leases and find each other's calls over the bus. */
  connect(bus: ReplicaBus, leases: StreamLeases): void {
    this.inbox.connect(bus);
    this.streams.connect(leases, bus.replicaId);
  }

  /**
   * Before a call in session `sessionId`: someone must hold its GET stream (its holder may have died).
   * A promise only when this replica looked (rarely: see SessionStreams.keep), else undefined.
   */
  keepStream(binding: SessionBinding, headers: Record<string, string>): Promise<void> | undefined {
    return this.streams.keep(binding, headers);
  }

  /**
   * The upstream session id for `binding` (NO_SESSION for a stateless upstream), opening one (once,
   * however many calls wait) if needed.
   */
  idFor(binding: SessionBinding, protocolVersion: string, headers: Record<string, string>): Promise<string> {
    if (binding.actingFor && this.owners.get(binding.key) !== binding.actingFor)
      this.owners.set(binding.key, binding.actingFor);
    const known = binding.known?.[this.upstream] ?? this.ids.get(binding.key);
    if (known !== undefined) return Promise.resolve(known);
    let pending = this.opening.get(binding.key);
    if (!pending) {
      pending = this.open(binding, protocolVersion, headers).finally(() => this.opening.delete(binding.key));
      this.opening.set(binding.key, pending);
    }
    return pending;
  }

  /**
   * The downstream session ended (its client DELETEd it): its upstream session is ended too, so the
   * upstream does not keep it until its own idle expiry. `known` holds ids opened on other replicas.
   */
  async end(key: string, known: Record<string, string> | undefined, protocolVersion: string): Promise<void> {
    const id = known?.[this.upstream] ?? this.ids.get(key);
    const owner = this.owners.get(key);
    this.ids.delete(key);
    this.owners.delete(key);
    this.streams.drop(key);
    if (!id) return;
    await this.http
      .endSession({ 'mcp-protocol-version': protocolVersion, 'mcp-session-id': id }, this.timeoutMs, owner)
      .catch(() => {
        // Best effort: the upstream's idle expiry reaps what this could not end.
      });
  }

  /** The upstream no longer knows `id` (404): the next call opens a new session. */
  forget(binding: SessionBinding, id: string): void {
    this.gone.set(id, true);
    this.streams.drop(binding.key);
    if (this.ids.get(binding.key) === id) this.ids.delete(binding.key);
    if (binding.known?.[this.upstream] === id) delete binding.known[this.upstream];
  }

  /** Shutting down: streams close and their leases go to whoever calls next. */
  close(): Promise<void> {
    return this.streams.close();
  }

  private async open(
    binding: SessionBinding,
    protocolVersion: string,
    headers: Record<string, string>,
  ): Promise<string> {
    const stored = await binding.lookup?.(this.upstream);
    if (stored && !this.gone.has(stored)) {
      if (binding.known) binding.known[this.upstream] = stored;
      return stored;
    }
    let sessionId: string | undefined;
    const reply = await this.http.request(
      {
        jsonrpc: '2.0',
        id: `mcp-fed-init-${++this.nextId}`,
        method: 'initialize',
        params: { protocolVersion, capabilities: binding.clientCapabilities ?? {}, clientInfo: CLIENT_INFO },
      },
      { ...headers },
      {
        timeoutMs: this.timeoutMs,
        actingFor: binding.actingFor,
        onHeaders: (h) => {
          const id = h['mcp-session-id'];
          if (typeof id === 'string' && id !== '') sessionId = id;
        },
      },
    );
    if (reply.error)
      throw new Error(`upstream "${this.upstream}" refused initialize: ${reply.error.message}`);
    const version = String(reply.result?.protocolVersion ?? protocolVersion);
    const session: Record<string, string> = { ...headers, 'mcp-protocol-version': version };
    if (sessionId) session['mcp-session-id'] = sessionId;
    await this.http.notify(
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      session,
      this.timeoutMs,
      binding.actingFor,
    );
    // No id: a stateless server (SDK `sessionIdGenerator: undefined`, python `stateless_http`). Nothing
    // to remember beyond that, nothing to store for other replicas, no GET stream to hold.
    if (!sessionId) {
      this.ids.set(binding.key, NO_SESSION);
      return NO_SESSION;
    }
    // Nothing uses the new id before the store says whose session won (calls waiting meanwhile wait on
    // `opening`): a call sent on the losing one would meet it ended.
    let first = await binding.opened?.(this.upstream, sessionId);
    if (first && this.gone.has(first)) first = await binding.opened?.(this.upstream, sessionId, first);
    const id = first ?? sessionId;
    this.ids.set(binding.key, id);
    if (binding.known) binding.known[this.upstream] = id;
    if (id !== sessionId) {
      // Another replica's session won: end this one; that replica holds the winner's GET stream.
      void this.http.endSession(session, this.timeoutMs, binding.actingFor).catch(() => {});
      return id;
    }
    // The replica that opened the session holds its GET stream (its first call may ask there at once).
    await this.streams.keep(binding, session);
    return id;
  }
}
