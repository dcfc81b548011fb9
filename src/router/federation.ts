import type { ServerCapabilities } from '@modelcontextprotocol/server';
import { InputBridge } from '../bridge/input-bridge.ts';
import { Catalog, type Route } from '../catalog/catalog.ts';
import { paginate } from '../catalog/cursor.ts';
import { OutboundAssertions } from '../chain/outbound-assertions.ts';
import type { Config, UpstreamConfig } from '../config/schema.ts';
import { configVersion } from '../config/version.ts';
import { ProxyError } from '../errors.ts';
import {
  type CallContext,
  type Caller,
  type CallMethod,
  HookPipeline,
  type McpCall,
} from '../hooks/pipeline.ts';
import { actingFor } from '../inbound/auth/caller-tokens.ts';
import type { Logger } from '../log.ts';
import type { GrantStore } from '../store/grant-store.ts';
import { MemoryReplicaBus, type ReplicaBus } from '../store/replica-bus.ts';
import type { SessionStore } from '../store/session-store.ts';
import { MemoryStreamLeases, type StreamLeases } from '../store/stream-leases.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { type RequestSpan, Tracing } from '../telemetry/tracing.ts';
import type { UserOAuthAuth } from '../upstream/auth/user-oauth.ts';
import { dropRaw } from '../upstream/raw-results.ts';
import { Upstream } from '../upstream/upstream.ts';
import type { ListKind } from '../upstream/upstream-lists.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';
import { CallAccounting, upstreamStatusOf } from './call-accounting.ts';
import { paramHeadersDisagree, publicReadResult, routeCall, routeCompletion } from './call-routes.ts';
import { CallerBindings } from './caller-bindings.ts';
import { CatalogChanges } from './catalog-changes.ts';
import { cacheHints, listResult, PAGE_SIZE } from './list-pages.ts';
import { upstreamParams, withSessionLogLevel } from './meta.ts';
import { diffUpstreams, InflightCalls, type Judging, type UpstreamChanges } from './reconfigure.ts';
import { followResource, heldInSession, watchListenResources } from './resource-subscriptions.ts';
import { scannedCompletion, scannedFailure, scannedIO } from './scanned-io.ts';
import type { CallIO, CallObserver, CallRecord, ChangeEvent } from './types.ts';
import { type EntryAccess, VisibleLists } from './visible-lists.ts';

export type { UpstreamChanges } from './reconfigure.ts';
export type { CallIO, CallObserver, CallRecord, ChangeEvent } from './types.ts';

/** How long the hooks a reload replaced wait for the calls they judge before they are released. */
const JUDGED_DRAIN_MS = 60_000;

/**
 * The router: owns the upstreams and the merged catalog, answers lists from the catalog, and
 * forwards calls through the hook pipeline to the upstream that owns the public name.
 */
export class Federation {
  readonly upstreams: Upstream[];
  readonly catalog: Catalog;
  /** List versions, and the change events the downstream side listens to. */
  private readonly changes: CatalogChanges;
  /** 2026-07-28 callers' own upstream sessions on 2025-era upstreams. */
  readonly callers: CallerBindings;
  /** Span end, metrics and call observers (the audit log) of every finished call. */
  private readonly accounting: CallAccounting;
  /** What the config in force decides: swapped whole by a reload. */
  private judging: Judging;
  /** Governed calls in flight per upstream, so a reload drains an upstream before closing it. */
  private readonly inflight = new InflightCalls<Upstream>();
  /** Upstreams a reload removed or replaced that still finish their calls (closed with the rest at exit). */
  private readonly draining = new Set<Upstream>();
  /** Calls in flight per judging, so what a reload replaced is released only once its calls are done. */
  private readonly judged = new InflightCalls<Judging>();
  private replicas: { bus: ReplicaBus; leases: StreamLeases } | undefined;
  /** `chain.assertCaller`: who the caller is, signed for the next proxy; undefined when off. */
  private assertions: OutboundAssertions | undefined;
  /** Input requests across eras and replicas (see src/bridge/). */
  bridge: InputBridge;
  /** Undefined unless `telemetry.otlpEndpoint` is set: then no span work at all. */
  tracing: Tracing | undefined;

  constructor(
    /** The config in force; a reload replaces it (see {@link reconfigure}). */
    public config: Config,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    hooks = new HookPipeline(),
    /** Per-caller visibility (ACL, Cedar): lists show, and completion reaches, only what it allows. */
    access?: EntryAccess,
    /** Where userOAuth upstreams keep their users' grants (absent in `mcp-fed stdio`). */
    private readonly grants?: GrantStore,
  ) {
    this.catalog = new Catalog(config.namespace, log, config.chain.maxHops);
    this.judging = this.judgingOf(config, hooks, access);
    this.changes = new CatalogChanges(this.catalog, log, (params) =>
      this.judging.hooks.passing(params, undefined),
    );
    // A caller's own upstream session brings the updates its listens asked for, and list changes that
    // may be its session's own (the shared catalog is re-listed as well). Nothing else: a log line
    // outside any call has no request to belong to in 2026-07-28.
    this.callers = new CallerBindings(log, (upstream, method, params) => {
      const up = this.upstreams.find((u) => u.name === upstream);
      if (!up) return;
      if (method === 'notifications/resources/updated') this.changes.upstreamNotification(up, method, params);
      else this.changes.sessionListChanged(method); // after the re-list (SessionInbox)
    });
    this.accounting = new CallAccounting(this.catalog, metrics);
    this.tracing = Tracing.create(config.telemetry, log);
    this.bridge = new InputBridge(
      () => this.judging.hooks,
      config.secrets.requestStateKey,
      new MemoryReplicaBus(),
    );
    this.assertions = OutboundAssertions.create(config.chain, config.secrets.assertionKey);
    this.upstreams = config.upstreams.map((u) => this.upstreamOf(u));
  }

  /** The per-user OAuth of the upstream in force named `name` (the /oauth routes' view of it). */
  userOAuth(name: string): UserOAuthAuth | undefined {
    return this.upstreams.find((u) => u.name === name)?.userOAuth;
  }

  /** The hook pipeline in force (a reload swaps it; a call keeps the one it started with). */
  get hooks(): HookPipeline {
    return this.judging.hooks;
  }

  private judgingOf(config: Config, hooks: HookPipeline, access: EntryAccess | undefined): Judging {
    return {
      hooks,
      access,
      visibleLists: access ? new VisibleLists(access, (kind, name) => this.routeOf(kind, name)) : undefined,
      version: configVersion(config),
      cedar: config.policies.cedar !== undefined,
    };
  }

  private upstreamOf(config: UpstreamConfig): Upstream {
    const up = new Upstream(
      config,
      {
        catalogChanged: (_up, kinds) => this.changes.catalogChanged(this.upstreams, kinds),
        notification: (u, method, params) => this.changes.upstreamNotification(u, method, params),
        stateChanged: (u) => this.metrics.upstreamUp.set({ upstream: u.name }, u.state === 'ready' ? 1 : 0),
        resumed: (u) => this.metrics.upstreamResumes.inc({ upstream: u.name }),
      },
      this.log,
      this.grants,
    );
    this.metrics.upstreamUp.set({ upstream: up.name }, 0);
    this.metrics.upstreamResumes.inc({ upstream: up.name }, 0);
    if (this.replicas) up.connectReplicas(this.replicas.bus, this.replicas.leases);
    return up;
  }

  /**
   * Applies a reloaded config (DESIGN.md, "HTTP surface", config reload): the new judging (hooks,
   * visibility) swaps in at once, so each call is judged by exactly one config; upstreams are diffed
   * (see reconfigure.ts). `listen`, `store`, `secrets` and what else needs a restart were refused before.
   */
  async reconfigure(
    config: Config,
    hooks: HookPipeline,
    access: EntryAccess | undefined,
    waitMs: number,
  ): Promise<{ upstreams: UpstreamChanges; previousDone: Promise<void> }> {
    const next = this.judgingOf(config, hooks, access);
    const previous = this.judging;
    const telemetryChanged = JSON.stringify(config.telemetry) !== JSON.stringify(this.config.telemetry);
    this.config = config;
    this.judging = next;
    this.assertions = OutboundAssertions.create(config.chain, config.secrets.assertionKey);
    if (telemetryChanged) {
      const old = this.tracing;
      this.tracing = Tracing.create(config.telemetry, this.log);
      void old?.shutdown().catch(() => {});
    }
    const changes = await diffUpstreams(this.upstreams, config.upstreams, {
      create: (u) => this.upstreamOf(u),
      waitMs,
      inflight: this.inflight,
      draining: this.draining,
      // No list_changed per list here: visibilityChanged below tells clients about every list at once.
      rebuilt: () => this.catalog.rebuild(this.upstreams),
    });
    // Who may see what may have changed (ACL, Cedar, upstreams): clients re-list in their era.
    this.changes.visibilityChanged();
    return { upstreams: changes, previousDone: this.judged.drained(previous, JUDGED_DRAIN_MS) };
  }

  /** Connects every upstream in parallel; returns once each has settled its first attempt or `waitMs` passed. */
  async start(waitMs: number): Promise<void> {
    await Promise.all(this.upstreams.map((u) => u.start(waitMs)));
  }

  /** 2026-07-28 callers' upstream session ids are shared by replicas through `store`. */
  useStore(store: SessionStore): void {
    this.callers.useStore(store);
  }

  /** Input exchanges may span replicas: answers and resumed calls travel over `bus`. */
  connectReplicas(bus: ReplicaBus, leases: StreamLeases = new MemoryStreamLeases()): void {
    this.replicas = { bus, leases };
    this.bridge.close();
    this.bridge = new InputBridge(() => this.judging.hooks, this.config.secrets.requestStateKey, bus);
    for (const u of this.upstreams) u.connectReplicas(bus, leases);
    this.callers.connect(bus);
  }

  /** A downstream session ended: upstreams drop what they kept for it (per-session stdio children). */
  releaseSession(key: string): void {
    for (const u of this.upstreams) u.release(key);
  }

  /** A downstream session was ended by its client: its own upstream sessions are ended as well. */
  async endSession(key: string, known?: Record<string, string>): Promise<void> {
    await Promise.all(this.upstreams.map((u) => u.endSession(key, known)));
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    return this.changes.onChange(listener);
  }

  observe(observer: CallObserver): void {
    this.accounting.observe(observer);
  }

  /** The capabilities the proxy advertises: the union of its upstreams', plus list_changed it always emits. */
  capabilities(): ServerCapabilities {
    const caps: ServerCapabilities = {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { listChanged: true, subscribe: true },
      completions: {},
      logging: {},
    };
    return caps;
  }

  /** Every ready upstream's instructions, each under its name, so none is dropped. */
  instructions(): string | undefined {
    const parts = this.upstreams
      .filter((u) => u.state === 'ready' && u.instructions)
      .map((u) => `## ${u.name}\n${u.instructions}`);
    return parts.length ? parts.join('\n\n') : undefined;
  }

  /** A page of one merged list, as `caller` may see it, with the cache hints DESIGN.md asks for. */
  list(kind: ListKind, cursor: string | undefined, caller?: Caller): Record<string, unknown> {
    const all = this.catalog[kind] as unknown[];
    const { visibleLists } = this.judging;
    const items = visibleLists && caller ? visibleLists.items(kind, all, caller) : all;
    const { page, nextCursor } = paginate(items, kind, this.changes.version(kind), cursor, PAGE_SIZE);
    this.metrics.catalogCache.inc({ result: 'hit' });
    const hints = cacheHints(this.upstreams, this.config.policies.acl.length > 0);
    return listResult(kind, page, nextCursor, hints);
  }

  /** Throws HOP_LIMIT for a request that crossed more than `chain.maxHops` proxies. */
  checkHops(hops: number): void {
    if (hops <= this.config.chain.maxHops) return;
    throw new ProxyError(
      'HOP_LIMIT',
      `request crossed ${hops} proxies (limit ${this.config.chain.maxHops})`,
      {
        hops,
      },
    );
  }

  /** Whether `caller` may use the entry of `kind` with this public name (tools, prompts) or URI (resources). */
  allowed(caller: Caller, kind: ListKind, name: string): boolean {
    const { access } = this.judging;
    return access ? access(caller, kind, name, () => this.routeOf(kind, name)) : true;
  }

  private routeOf(kind: ListKind, name: string): Route | undefined {
    if (kind === 'tools') return this.catalog.resolveTool(name);
    if (kind === 'prompts') return this.catalog.resolvePrompt(name);
    return kind === 'resources' ? this.catalog.resolveResource(name) : undefined;
  }

  /** Forwards tools/call, prompts/get or resources/read through the hooks to the owning upstream. */
  async call(method: CallMethod, params: Record<string, unknown>, ctx: CallContext, io: CallIO = {}) {
    const t0 = performance.now();
    // One config judges the whole call, even if a reload lands while it runs.
    const judging = this.judging;
    const hooks = judging.hooks;
    ctx.judgedBy = { version: judging.version, cedar: judging.cedar };
    this.judged.enter(judging);
    this.accounting.started();
    let upstreamMs = 0;
    let route: Route | undefined;
    let status: CallRecord['result'] = 'error';
    let upstreamStatus: number | null = null;
    let failure: unknown;
    // A resource URI may carry values: its span gets the safe label (listed URI or template) at the end.
    const span: RequestSpan | undefined = this.tracing?.request(
      method,
      method === 'resources/read' ? undefined : String(params.name),
      ctx,
    );
    try {
      if (ctx.hops > this.config.chain.maxHops) {
        ctx.decision = 'hop_limit';
        this.checkHops(ctx.hops);
      }
      try {
        route = routeCall(this.catalog, method, params);
      } catch (err) {
        ctx.decision = 'unknown_tool';
        throw err;
      }
      this.inflight.enter(route.upstream);
      const key = method === 'resources/read' ? 'uri' : 'name';
      let call: McpCall = {
        method,
        publicName: String(params[key]),
        upstream: route.upstream.name,
        upstreamName: route.name,
        params: { ...params, [key]: route.name },
      };
      if (route.annotations) call.annotations = route.annotations;
      if (!hooks.empty) {
        const pre = await hooks.before(call, ctx);
        if (!pre.ok) throw pre.error;
        call = pre.call;
      }
      const u0 = performance.now();
      let result: Record<string, unknown>;
      span?.upstreamStart(route.upstream.name, method === 'resources/read' ? undefined : route.name);
      try {
        this.assertions?.stamp(ctx, route.upstream.name);
        const up = route.upstream;
        const governed = call;
        // A 2026-07-28 caller's own upstream session (DESIGN.md, "Upstream sessions"), one per caller.
        if (!io.session && up.perClientSessions)
          io.session = this.callers.get(ctx.caller.id, io.clientCapabilities);
        result = await this.bridge.forward(
          up,
          withSessionLogLevel(upstreamParams(call.params, ctx), up, io.session),
          call,
          ctx,
          hooks.scansPassing ? scannedIO(io, hooks, ctx) : io,
          // A retry after a person answered may come minutes later: sign the caller afresh for it.
          this.assertions
            ? () => {
                this.assertions?.stamp(ctx, up.name);
                return withSessionLogLevel(upstreamParams(governed.params, ctx), up, io.session);
              }
            : undefined,
        );
        upstreamStatus = 200;
        span?.upstreamEnd(200);
      } catch (err) {
        ctx.decision = ctx.decision === 'allow' ? 'upstream_error' : ctx.decision;
        upstreamStatus = upstreamStatusOf(err);
        span?.upstreamEnd(upstreamStatus, err);
        // An upstream's own error text may quote what it was given, or hold PII of its own.
        throw scannedFailure(err, hooks, ctx);
      } finally {
        upstreamMs = performance.now() - u0;
      }
      if (method === 'resources/read') result = publicReadResult(this.catalog, route.upstream, result);
      if (hooks.post.length) {
        // A post hook may change the result in place: it is serialised afresh, never relayed as the upstream's bytes.
        dropRaw(result);
        result = await hooks.after(call, result, ctx);
      }
      status = result.isError === true ? 'tool_error' : 'ok';
      return result;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      if (route) this.inflight.leave(route.upstream);
      this.accounting.finished({
        method,
        params,
        ctx,
        route,
        span,
        status,
        failure,
        totalMs: performance.now() - t0,
        upstreamMs,
        upstreamStatus,
      });
      // After the record is queued: what this judging owns (its audit log) may then be released.
      this.judged.leave(judging);
    }
  }

  /** completion/complete: routes on the prompt name or resource (template) URI of `ref`. */
  async complete(params: Record<string, unknown>, ctx: CallContext, io: CallIO = {}) {
    this.checkHops(ctx.hops);
    const hooks = this.judging.hooks;
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    let { route, nextRef } = routeCompletion(this.catalog, ref);
    if (
      route &&
      ctx.caller &&
      !(ref?.type === 'ref/prompt'
        ? this.allowed(ctx.caller, 'prompts', String(ref.name))
        : this.allowed(ctx.caller, 'resourceTemplates', String(ref?.uri)))
    )
      route = undefined;
    if (!route || !nextRef) {
      throw new ProxyError(
        'UNKNOWN_PROMPT',
        'completion reference names no prompt or resource template of this proxy',
        {},
      );
    }
    const target = route.upstream;
    this.assertions?.stamp(ctx, target.name);
    let sent: Record<string, unknown> = { ...params, ref: nextRef };
    // What the user typed so far goes upstream as arguments do (PII scanned); the values come back as results do.
    if (!hooks.empty) sent = await scannedCompletion(sent, hooks, ctx);
    let result: Record<string, unknown>;
    try {
      result = await target.request('completion/complete', upstreamParams(sent, ctx), {
        signal: io.signal,
        hop: ctx,
        actingFor: target.actsForCaller && ctx.caller ? actingFor(ctx.caller) : undefined,
      });
    } catch (err) {
      throw scannedFailure(err, hooks, ctx);
    }
    return hooks.empty ? result : hooks.downstream(result, ctx);
  }

  /**
   * resources/subscribe and unsubscribe of 2025-era clients (see resource-subscriptions.ts); `session`
   * is the client's own binding, where the upstream keeps per-client sessions.
   */
  subscription(
    method: 'resources/subscribe' | 'resources/unsubscribe',
    uri: string,
    session?: SessionBinding,
  ) {
    return followResource(this.catalog, method, uri, session);
  }

  /**
   * A 2026-07-28 tools/call's `Mcp-Param-*` headers against its arguments, as the tool's schema declares
   * them (SEP-2243): what disagrees, or undefined. The proxy is the server its clients talk to, so it
   * checks what the upstream would have, before any governance runs.
   */
  paramHeaderMismatch(
    body: unknown,
    headers: Record<string, string | string[] | undefined>,
  ): string | undefined {
    return paramHeadersDisagree(this.catalog, body, headers);
  }

  /** A notification's params with the upstream's own names made public (a resources/updated URI). */
  publicParams(
    upstream: string,
    method: string,
    params: Record<string, unknown> | undefined,
  ): Record<string, unknown> | undefined {
    const up = this.upstreams.find((u) => u.name === upstream);
    if (!up || method !== 'notifications/resources/updated' || typeof params?.uri !== 'string') return params;
    return { ...params, uri: this.catalog.publicResourceUri(up, params.uri) };
  }

  /** Whether a session's subscription to `uri` lives in its own upstream session (see resource-subscriptions.ts). */
  subscribedInSession(uri: string): boolean {
    return heldInSession(this.catalog, uri);
  }

  /** The upstream watches behind a 2026-07-28 `subscriptions/listen` (see resource-subscriptions.ts). */
  watchListen(body: unknown, callerId: string): (() => void) | undefined {
    // A listen may be a caller's first request: its capabilities open the caller's upstream sessions.
    const binding = () => {
      const meta = (body as { params?: { _meta?: Record<string, unknown> } })?.params?._meta;
      const capabilities = meta?.['io.modelcontextprotocol/clientCapabilities'];
      return this.callers.get(callerId, capabilities as Record<string, unknown> | undefined);
    };
    return watchListenResources(this.catalog, body, this.log, { binding, bindings: this.callers });
  }

  /**
   * logging/setLevel of a 2025-era session: sent in that session's own upstream sessions (where its
   * calls run), or, without one, in the proxy's own; 2026-07-28 upstreams have no setLevel and get the
   * level in each of the session's calls instead (`_meta` logLevel, see `withSessionLogLevel`).
   */
  async setLogLevel(level: string, ctx: CallContext, session?: SessionBinding): Promise<void> {
    if (session) session.logLevel = level;
    await Promise.allSettled(
      this.upstreams
        .filter((u) => u.state === 'ready' && u.capabilities?.logging && u.era === 'legacy')
        .map((u) =>
          u.request('logging/setLevel', upstreamParams({ level }, ctx), {
            hop: ctx,
            session,
            actingFor: u.actsForCaller ? actingFor(ctx.caller) : undefined,
          }),
        ),
    );
  }

  /** Closes the upstreams, then waits (briefly) for the calls they were serving to finish and be observed. */
  async close(drainMs = 2_000): Promise<void> {
    this.bridge.close();
    await Promise.all([...this.upstreams, ...this.draining].map((u) => u.close()));
    if (this.accounting.inflight > 0) await this.accounting.drain(drainMs);
    await this.tracing?.shutdown().catch((err: Error) => {
      this.log.warn({ err: err.message }, 'trace export failed at shutdown');
    });
  }
}
