import type { Client, ServerCapabilities, Tool } from '@modelcontextprotocol/client';
import type { UpstreamConfig } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { GrantStore } from '../store/grant-store.ts';
import type { ReplicaBus } from '../store/replica-bus.ts';
import { MemoryStreamLeases, type StreamLeases } from '../store/stream-leases.ts';
import { authFailed, findAuthFailure } from './auth/errors.ts';
import { type ActingFor, createUpstreamAuth, type UpstreamAuth } from './auth/index.ts';
import { UserOAuthAuth } from './auth/user-oauth.ts';
import type { CallSignal } from './call-signal.ts';
import type { HopContext } from './correlation.ts';
import { StreamableHttpClient } from './http/streamable-http-client.ts';
import { LeanCalls } from './lean-calls.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';
import { ResourceWatch } from './resource-watch.ts';
import { type InputRequestHandler, SdkCalls } from './sdk-calls.ts';
import { StdioChildren } from './stdio-children.ts';
import { createTransport } from './transport-factory.ts';
import { createProxyClient, PROXY_CAPABILITIES, spawnSessionChild } from './upstream-clients.ts';
import { isConnectionFailure } from './upstream-errors.ts';
import {
  emptyLists,
  fetchLists,
  type ListKind,
  offeredKinds,
  SerialRelist,
  toolNamed,
  type UpstreamLists,
} from './upstream-lists.ts';
import { type SessionBinding, UpstreamSessions } from './upstream-sessions.ts';

export type UpstreamState = 'connecting' | 'ready' | 'down' | 'closed';

export interface UpstreamEvents {
  /** The upstream's lists changed (re-listed after list_changed, a periodic refresh, a reconnect or a loss). */
  catalogChanged(upstream: Upstream, kinds: ListKind[]): void;
  /** A notification that is not about lists (resources/updated, logging) arrived from the upstream. */
  notification(upstream: Upstream, method: string, params: Record<string, unknown> | undefined): void;
  stateChanged(upstream: Upstream): void;
  /** A response stream the upstream closed early was resumed (GET + Last-Event-ID). */
  resumed(upstream: Upstream): void;
}

export interface UpstreamRequestOptions {
  signal?: CallSignal;
  /** The downstream client's capabilities, forwarded to a 2026-07-28 upstream in the request envelope. */
  clientCapabilities?: Record<string, unknown>;
  /** Correlation of the downstream call: request id, hop count, trace context. */
  hop?: HopContext;
  onprogress?: (progress: { progress: number; total?: number; message?: string }) => void;
  /** Notifications on this request's own stream other than its progress: relayed to this caller only. */
  onnotification?: (method: string, params: Record<string, unknown> | undefined) => void;
  /**
   * A 2025-era upstream asks for input (elicitation/create, sampling/createMessage, roots/list) during
   * this request: resolves with the answer sent back upstream, or rejects (sent back as an error).
   * Unset: the request is refused with an error, never left hanging.
   */
  oninputrequest?: InputRequestHandler;
  /** Whose upstream session a call to a 2025-era upstream runs in (unset: the proxy's own). */
  session?: SessionBinding;
  /** The caller the request is for: an upstream that acts for the caller signs it with that caller's credential. */
  actingFor?: ActingFor;
}

/** Methods relayed over the lean HTTP client instead of the SDK client (see http/streamable-http-client.ts). */
const FORWARDED = new Set(['tools/call', 'prompts/get', 'resources/read', 'completion/complete']);
/** Session state a client's own upstream session takes (its calls' logs and updates follow it). */
const SESSION_STATE = new Set(['logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

/**
 * One configured upstream: its SDK client connection, its last listed catalog, and the
 * reconnect loop that brings it back after it dies. A dead upstream never blocks the others:
 * requests to it fail fast with UPSTREAM_UNAVAILABLE while the loop retries with backoff.
 */
export class Upstream {
  state: UpstreamState = 'connecting';
  lists: UpstreamLists = emptyLists();
  lastError?: string;
  /** How often it became ready (connected and listed): reconnects are this minus one. */
  readyCount = 0;
  /** Why the last connect failed, when it was the upstream's auth (requests then say so). */
  private authError?: ProxyError;
  /** The upstream's one auth adapter, shared by the forwarder and every SDK transport. */
  private readonly auth: UpstreamAuth | undefined;
  private client?: Client;
  /** The lean path for calls to a Streamable HTTP upstream (created on first connect). */
  private lean?: LeanCalls;
  private nextId = 0;
  /** Calls over an SDK client (stdio, SSE, rare methods). */
  private readonly sdk: SdkCalls;
  /** `isolation: per-session` stdio upstreams: a child per downstream session. */
  private readonly children: StdioChildren | undefined;
  private readonly backoff = new ReconnectBackoff();
  private refreshTimer?: NodeJS.Timeout;
  private readonly relists = new SerialRelist((kinds) => this.relistNow(kinds));
  private connecting?: Promise<void>;
  private firstAttempt: Promise<void>;
  private settleFirst!: () => void;
  /** Resource URIs downstream clients subscribed to, kept subscribed upstream across reconnects. */
  private readonly watches: ResourceWatch;
  private bus?: ReplicaBus;
  private leases: StreamLeases = new MemoryStreamLeases();

  constructor(
    readonly config: UpstreamConfig,
    private readonly events: UpstreamEvents,
    private readonly log: Logger,
    /** userOAuth keeps its users' grants here (the app's store). */
    grants?: GrantStore,
  ) {
    this.firstAttempt = new Promise((resolve) => {
      this.settleFirst = resolve;
    });
    this.auth = createUpstreamAuth(config, { log, grants });
    this.sdk = new SdkCalls({
      name: config.name,
      timeoutMs: config.timeoutMs,
      nextId: () => ++this.nextId,
      connectionFailed: (client, reason) => {
        if (client === this.client) this.markDown(reason);
      },
    });
    this.children =
      config.transport === 'stdio' && config.isolation === 'per-session'
        ? new StdioChildren(
            config.name,
            (binding) => spawnSessionChild(config, binding, this.sdk, this.auth, log),
            log,
          )
        : undefined;
    this.watches = new ResourceWatch(
      config.name,
      () => (this.state === 'ready' ? this.client : undefined),
      (method, params) => this.request(method, params),
      log,
    );
  }

  get name(): string {
    return this.config.name;
  }

  /** Whether each client gets a child process of its own (`isolation: per-session`). */
  get perSession(): boolean {
    return this.children !== undefined;
  }

  /**
   * Whether each client gets upstream state of its own here (DESIGN.md, "Upstream sessions"): a session
   * on a 2025-era upstream, or a child with `isolation: per-session`.
   */
  get perClientSessions(): boolean {
    return this.era === 'legacy' || this.perSession;
  }

  /** The era this upstream speaks (once connected). */
  get era(): 'modern' | 'legacy' | undefined {
    return this.client?.getProtocolEra();
  }

  get capabilities(): ServerCapabilities | undefined {
    return this.state === 'ready' ? this.client?.getServerCapabilities() : undefined;
  }

  get instructions(): string | undefined {
    return this.client?.getInstructions();
  }

  /** Starts connecting; resolves after the first attempt settles or `waitMs`, whichever is first. */
  start(waitMs: number): Promise<void> {
    void this.connect();
    const refreshMs = this.config.catalogRefreshSeconds * 1000;
    if (refreshMs > 0) {
      this.refreshTimer = setInterval(() => {
        if (this.state === 'ready') void this.relist(['tools', 'prompts', 'resources', 'resourceTemplates']);
      }, refreshMs);
      this.refreshTimer.unref();
    }
    return Promise.race([this.firstAttempt, new Promise<void>((r) => setTimeout(r, waitMs).unref())]);
  }

  private connect(): Promise<void> {
    this.connecting ??= this.doConnect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    if (this.state === 'closed') return;
    const client = createProxyClient(this.config, (kinds) => void this.relist(kinds));
    this.sdk.attach(client, PROXY_CAPABILITIES);
    client.fallbackNotificationHandler = async (n) => {
      this.events.notification(this, n.method, n.params as Record<string, unknown> | undefined);
    };
    client.onclose = () => {
      if (this.client === client) this.markDown('connection closed');
    };
    client.onerror = (err) =>
      this.log.debug({ upstream: this.name, err: err.message }, 'upstream transport error');
    try {
      const transport = createTransport(
        this.config,
        (line) => this.log.debug({ upstream: this.name, stderr: line }),
        this.auth,
      );
      await client.connect(transport, { timeout: Math.min(this.config.timeoutMs, 10_000) });
      if ((this.state as UpstreamState) === 'closed') {
        await client.close();
        return;
      }
      this.client = client;
      if (this.config.transport === 'streamable-http' && !this.lean)
        this.lean = this.leanPath(this.config.url);
      this.lists = await fetchLists(
        client,
        offeredKinds(client.getServerCapabilities()),
        this.config.timeoutMs,
      );
      this.backoff.reset();
      this.lastError = undefined;
      this.authError = undefined;
      this.readyCount++;
      this.setState('ready');
      this.log.info(
        { upstream: this.name, era: client.getProtocolEra(), tools: this.lists.tools.length },
        'upstream ready',
      );
      this.events.catalogChanged(this, ['tools', 'prompts', 'resources', 'resourceTemplates']);
      void this.watches.restore(client);
    } catch (err) {
      await client.close().catch(() => {});
      if (this.client === client) this.client = undefined;
      this.authError = findAuthFailure(this.name, err);
      this.lastError = this.authError?.message ?? (err instanceof Error ? err.message : String(err));
      this.log.warn({ upstream: this.name, err: this.lastError }, 'upstream connect failed');
      this.setState('down');
      this.scheduleRetry();
    } finally {
      this.settleFirst();
    }
  }

  /** The lean path over this upstream's one Streamable HTTP client, with its per-client sessions. */
  private leanPath(url: string): LeanCalls {
    const http = new StreamableHttpClient(new URL(url), this.name, this.auth, this.config.headers, () =>
      this.events.resumed(this),
    );
    const { timeoutMs } = this.config;
    const sessions = new UpstreamSessions(http, this.name, timeoutMs, this.log, (kinds) =>
      this.relist(kinds),
    );
    if (this.bus) sessions.connect(this.bus, this.leases);
    return new LeanCalls(http, {
      name: this.name,
      timeoutMs,
      sessions,
      nextId: () => ++this.nextId,
      markDown: (reason) => this.markDown(reason),
      relist: (kinds) => void this.relist(kinds),
      toolSchema: (name) => this.toolNamed(name)?.inputSchema,
      viaClient: (c, m, p, o) => this.sdk.call(c, m, p, o),
      inOwnSession: (c, asker) => this.sdk.track(c, asker),
    });
  }

  /** Re-lists some kinds (after list_changed or periodically) and reports the change (SerialRelist). */
  relist(kinds: ListKind[]): Promise<void> {
    return this.relists.request(kinds);
  }

  private async relistNow(kinds: ListKind[]): Promise<void> {
    const client = this.client;
    if (!client || this.state !== 'ready') return;
    const offered = new Set(offeredKinds(client.getServerCapabilities()));
    const wanted = kinds.filter((k) => offered.has(k));
    try {
      this.lists = await fetchLists(client, wanted, this.config.timeoutMs, this.lists);
      this.events.catalogChanged(this, wanted);
    } catch (err) {
      this.log.warn({ upstream: this.name, err: (err as Error).message }, 're-list failed');
      if (isConnectionFailure(err)) this.markDown('re-list failed');
    }
  }

  /** A tool of the last listing by its upstream name. */
  toolNamed(name: string): Tool | undefined {
    return toolNamed(this.lists, name);
  }

  /** Forwards one request; results are relayed unvalidated. Errors come back as ProxyError/UpstreamRpcError. */
  async request(
    method: string,
    params: Record<string, unknown> | undefined,
    opts: UpstreamRequestOptions = {},
  ) {
    const client = this.client;
    if (!client || this.state !== 'ready') {
      throw (
        this.authError ??
        new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${this.name}" is unavailable`, {
          upstream: this.name,
        })
      );
    }
    const perClient = FORWARDED.has(method) || (opts.session !== undefined && SESSION_STATE.has(method));
    // A caller's request to an upstream that acts for the caller; the proxy's own (a resource watch on
    // its session) goes on below, signed with catalogAuth.
    if (this.auth?.actsForCaller && (perClient || opts.actingFor))
      return this.forCaller(client, method, params, opts, perClient);
    if (this.lean && perClient) return this.lean.call(client, method, params ?? {}, opts);
    if (this.children && opts.session && perClient) {
      const child = await this.children.clientFor(opts.session).catch(() => {
        throw new ProxyError(
          'UPSTREAM_UNAVAILABLE',
          `upstream "${this.name}" could not start a child for this session`,
          {
            upstream: this.name,
          },
        );
      });
      return this.sdk.call(child, method, params ?? {}, opts);
    }
    return this.sdk.call(client, method, params ?? {}, opts);
  }

  /**
   * Whether calls reach this upstream with the caller's own credential (tokenExchange, userOAuth) rather
   * than the proxy's (audit `upstream_identity`).
   */
  get actsForCaller(): boolean {
    return this.auth?.actsForCaller === true;
  }

  /** The per-user OAuth of this upstream, when its auth is userOAuth (consent pages, grants). */
  get userOAuth(): UserOAuthAuth | undefined {
    return this.auth instanceof UserOAuthAuth ? this.auth : undefined;
  }

  /**
   * On an upstream that acts for the caller, a caller's request goes only over the lean path, signed
   * for that caller: never in the proxy's own identity, which is the catalog's. Fails closed otherwise.
   */
  private forCaller(
    client: Client,
    method: string,
    params: Record<string, unknown> | undefined,
    opts: UpstreamRequestOptions,
    perClient: boolean,
  ) {
    const who = opts.actingFor ?? opts.session?.actingFor;
    if (!this.lean || !perClient || !who)
      throw authFailed(this.name, `${method} cannot be sent for the caller on this upstream`);
    return this.lean.call(
      client,
      method,
      params ?? {},
      who === opts.actingFor ? opts : { ...opts, actingFor: who },
    );
  }

  /** Requests on per-client GET streams find their call on another replica over `bus`. */
  connectReplicas(bus: ReplicaBus, leases: StreamLeases): void {
    this.bus = bus;
    this.leases = leases;
    this.lean?.sessions?.connect(bus, leases);
  }

  /** A downstream session (or caller binding) ended: what this upstream kept for it goes. */
  release(key: string): void {
    this.children?.release(key);
  }
  /** A downstream session ended for good (DELETE): its own upstream session on this upstream ends too. */
  async endSession(key: string, known?: Record<string, string>): Promise<void> {
    const sessions = this.lean?.sessions;
    if (!sessions || this.era !== 'legacy') return;
    await sessions.end(key, known, this.client?.getNegotiatedProtocolVersion() ?? '');
  }

  /**
   * Whether a 2025-era client's resources/subscribe belongs in its own upstream session (a stateful
   * Streamable HTTP upstream): the upstream then sends the updates there, on that session's GET stream,
   * and may tie them to other state of that session (server-everything sends them only to a session
   * that also switched them on). Elsewhere the proxy's own session follows the URI for everyone.
   */
  get subscribesPerClient(): boolean {
    const client = this.client;
    return client !== undefined && this.lean?.keepsClientSessions(client) === true;
  }

  /**
   * Follows `uri` (the upstream's own URI) for one more downstream subscriber: resources/subscribe on a
   * 2025-era upstream, a subscriptions/listen on a 2026-07-28 one (see ResourceWatch).
   */
  watch(uri: string): Promise<void> {
    return this.watches.add(uri);
  }

  /** One downstream subscriber of `uri` fewer; the upstream subscription ends with the last. */
  unwatch(uri: string): Promise<void> {
    return this.watches.remove(uri);
  }

  /** Sends a notification upstream (e.g. cancellation on stdio, roots changes). */
  async notify(method: string, params?: Record<string, unknown>): Promise<void> {
    await this.client?.notification({ method, params });
  }

  private markDown(reason: string): void {
    if (this.state === 'down' || this.state === 'closed' || this.connecting) return;
    this.lastError = reason;
    this.log.warn({ upstream: this.name, reason }, 'upstream down');
    const client = this.client;
    this.client = undefined;
    this.watches.detach();
    this.lists = emptyLists();
    this.setState('down');
    this.events.catalogChanged(this, ['tools', 'prompts', 'resources', 'resourceTemplates']);
    void client?.close().catch(() => {});
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.state === 'closed') return;
    this.backoff.schedule(() => void this.connect());
  }

  private setState(state: UpstreamState): void {
    if (this.state === state) return;
    this.state = state;
    this.events.stateChanged(this);
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.backoff.cancel();
    clearInterval(this.refreshTimer);
    await this.lean?.close();
    this.children?.close();
    this.watches.detach();
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => {});
  }
}
