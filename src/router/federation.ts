import type { ServerCapabilities } from '@modelcontextprotocol/server';
import { InputBridge } from '../bridge/input-bridge.ts';
import { Catalog, type Route } from '../catalog/catalog.ts';
import { paginate } from '../catalog/cursor.ts';
import { OutboundAssertions } from '../chain/outbound-assertions.ts';
import type { Config } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import type { AccessFilter } from '../hooks/acl.ts';
import {
  type CallContext,
  type Caller,
  type CallMethod,
  HookPipeline,
  type McpCall,
} from '../hooks/pipeline.ts';
import type { Logger } from '../log.ts';
import { MemoryReplicaBus, type ReplicaBus } from '../store/replica-bus.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { type RequestSpan, Tracing } from '../telemetry/tracing.ts';
import { Upstream } from '../upstream/upstream.ts';
import type { ListKind } from '../upstream/upstream-lists.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';
import { CallAccounting, upstreamStatusOf } from './call-accounting.ts';
import { publicReadResult, routeCall, routeCompletion } from './call-routes.ts';
import { CatalogChanges } from './catalog-changes.ts';
import { cacheHints, listResult, PAGE_SIZE } from './list-pages.ts';
import { upstreamParams } from './meta.ts';
import { followResource, watchListenResources } from './resource-subscriptions.ts';
import type { CallIO, CallObserver, CallRecord, ChangeEvent } from './types.ts';
import { VisibleLists } from './visible-lists.ts';

export type { CallIO, CallObserver, CallRecord, ChangeEvent } from './types.ts';

/**
 * The router: owns the upstreams and the merged catalog, answers lists from the catalog, and
 * forwards calls through the hook pipeline to the upstream that owns the public name.
 */
export class Federation {
  readonly upstreams: Upstream[];
  readonly catalog: Catalog;
  /** List versions, and the change events the downstream side listens to. */
  private readonly changes: CatalogChanges;
  /** Span end, metrics and call observers (the audit log) of every finished call. */
  private readonly accounting: CallAccounting;
  private readonly visibleLists: VisibleLists | undefined;
  /** `chain.assertCaller`: who the caller is, signed for the next proxy; undefined when off. */
  private readonly assertions: OutboundAssertions | undefined;
  /** Input requests across eras and replicas (see src/bridge/). */
  bridge: InputBridge;
  /** Undefined unless `telemetry.otlpEndpoint` is set: then no span work at all. */
  readonly tracing: Tracing | undefined;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    readonly hooks = new HookPipeline(),
    /** Per-caller visibility (the ACL): lists show, and completion reaches, only what it allows. */
    private readonly access?: AccessFilter,
  ) {
    this.catalog = new Catalog(config.namespace, log, config.chain.maxHops);
    this.changes = new CatalogChanges(this.catalog, log);
    this.accounting = new CallAccounting(this.catalog, metrics);
    this.tracing = Tracing.create(config.telemetry, log);
    this.visibleLists = access ? new VisibleLists(access) : undefined;
    this.bridge = new InputBridge(hooks, config.secrets.requestStateKey, new MemoryReplicaBus());
    this.assertions = OutboundAssertions.create(config.chain, config.secrets.assertionKey);
    this.upstreams = config.upstreams.map(
      (u) =>
        new Upstream(
          u,
          {
            catalogChanged: (_up, kinds) => this.changes.catalogChanged(this.upstreams, kinds),
            notification: (up, method, params) => this.changes.upstreamNotification(up, method, params),
            stateChanged: (up) =>
              this.metrics.upstreamUp.set({ upstream: up.name }, up.state === 'ready' ? 1 : 0),
            resumed: (up) => this.metrics.upstreamResumes.inc({ upstream: up.name }),
          },
          log,
        ),
    );
    for (const u of this.upstreams) {
      this.metrics.upstreamUp.set({ upstream: u.name }, 0);
      this.metrics.upstreamResumes.inc({ upstream: u.name }, 0);
    }
  }

  /** Connects every upstream in parallel; returns once each has settled its first attempt or `waitMs` passed. */
  async start(waitMs: number): Promise<void> {
    await Promise.all(this.upstreams.map((u) => u.start(waitMs)));
  }

  /** Input exchanges may span replicas: answers and resumed calls travel over `bus`. */
  connectReplicas(bus: ReplicaBus): void {
    this.bridge.close();
    this.bridge = new InputBridge(this.hooks, this.config.secrets.requestStateKey, bus);
    for (const u of this.upstreams) u.connectReplicas(bus);
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
    const items = this.visibleLists && caller ? this.visibleLists.items(kind, all, caller) : all;
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

  /** Whether `caller` may use the entry with this public name (tools, prompts) or URI (resources). */
  allowed(caller: Caller, name: string): boolean {
    return this.access ? this.access(caller, name) : true;
  }

  /** Forwards tools/call, prompts/get or resources/read through the hooks to the owning upstream. */
  async call(method: CallMethod, params: Record<string, unknown>, ctx: CallContext, io: CallIO = {}) {
    const t0 = performance.now();
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
      const key = method === 'resources/read' ? 'uri' : 'name';
      let call: McpCall = {
        method,
        publicName: String(params[key]),
        upstream: route.upstream.name,
        upstreamName: route.name,
        params: { ...params, [key]: route.name },
      };
      if (!this.hooks.empty) {
        const pre = await this.hooks.before(call, ctx);
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
        result = await this.bridge.forward(
          up,
          upstreamParams(call.params, ctx),
          call,
          ctx,
          io,
          // A retry after a person answered may come minutes later: sign the caller afresh for it.
          this.assertions
            ? () => {
                this.assertions?.stamp(ctx, up.name);
                return upstreamParams(governed.params, ctx);
              }
            : undefined,
        );
        upstreamStatus = 200;
        span?.upstreamEnd(200);
      } catch (err) {
        ctx.decision = ctx.decision === 'allow' ? 'upstream_error' : ctx.decision;
        upstreamStatus = upstreamStatusOf(err);
        span?.upstreamEnd(upstreamStatus, err);
        throw err;
      } finally {
        upstreamMs = performance.now() - u0;
      }
      if (method === 'resources/read') result = publicReadResult(this.catalog, route.upstream, result);
      if (!this.hooks.empty) result = await this.hooks.after(call, result, ctx);
      status = result.isError === true ? 'tool_error' : 'ok';
      return result;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
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
    }
  }

  /** completion/complete: routes on the prompt name or resource (template) URI of `ref`. */
  async complete(params: Record<string, unknown>, ctx: CallContext, io: CallIO = {}) {
    this.checkHops(ctx.hops);
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    let { route, nextRef } = routeCompletion(this.catalog, ref);
    if (
      route &&
      ctx.caller &&
      !this.allowed(ctx.caller, ref?.type === 'ref/prompt' ? String(ref.name) : String(ref?.uri))
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
    return target.request('completion/complete', upstreamParams({ ...params, ref: nextRef }, ctx), {
      signal: io.signal,
      hop: ctx,
    });
  }

  /** resources/subscribe and unsubscribe of 2025-era clients (see resource-subscriptions.ts). */
  subscription(method: 'resources/subscribe' | 'resources/unsubscribe', uri: string) {
    return followResource(this.catalog, method, uri);
  }

  /** The upstream watches behind a 2026-07-28 `subscriptions/listen` (see resource-subscriptions.ts). */
  watchListen(body: unknown): (() => void) | undefined {
    return watchListenResources(this.catalog, body, this.log);
  }

  /** logging/setLevel fans out to every ready upstream that logs. */
  /**
   * logging/setLevel of a 2025-era session: sent in that session's own upstream sessions (where its
   * calls run), or, without one, in the proxy's own.
   */
  async setLogLevel(level: string, ctx: CallContext, session?: SessionBinding): Promise<void> {
    await Promise.allSettled(
      this.upstreams
        .filter((u) => u.state === 'ready' && u.capabilities?.logging && u.era === 'legacy')
        .map((u) => u.request('logging/setLevel', upstreamParams({ level }, ctx), { hop: ctx, session })),
    );
  }

  /** Closes the upstreams, then waits (briefly) for the calls they were serving to finish and be observed. */
  async close(drainMs = 2_000): Promise<void> {
    this.bridge.close();
    await Promise.all(this.upstreams.map((u) => u.close()));
    if (this.accounting.inflight > 0) await this.accounting.drain(drainMs);
    await this.tracing?.shutdown().catch((err: Error) => {
      this.log.warn({ err: err.message }, 'trace export failed at shutdown');
    });
  }
}
