import type { ServerCapabilities } from '@modelcontextprotocol/server';
import { InputBridge } from '../bridge/input-bridge.ts';
import { Catalog, type Route } from '../catalog/catalog.ts';
import { paginate } from '../catalog/cursor.ts';
import { OutboundAssertions } from '../chain/outbound-assertions.ts';
import type { Config } from '../config/schema.ts';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
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
import { UpstreamHttpError } from '../upstream/http-forwarder.ts';
import { Upstream } from '../upstream/upstream.ts';
import { LIST_KINDS, type ListKind } from '../upstream/upstream-lists.ts';
import { upstreamParams } from './meta.ts';
import { followResource, watchListenResources } from './resource-subscriptions.ts';
import type { CallIO, CallObserver, CallRecord, ChangeEvent } from './types.ts';
import { VisibleLists } from './visible-lists.ts';

export type { CallIO, CallObserver, CallRecord, ChangeEvent } from './types.ts';

const PAGE_SIZE = 100;
const RESULT_PAGE_KEYS: Record<ListKind, string> = {
  tools: 'tools',
  prompts: 'prompts',
  resources: 'resources',
  resourceTemplates: 'resourceTemplates',
};

/**
 * The router: owns the upstreams and the merged catalog, answers lists from the catalog, and
 * forwards calls through the hook pipeline to the upstream that owns the public name.
 */
export class Federation {
  readonly upstreams: Upstream[];
  readonly catalog: Catalog;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  private readonly observers: CallObserver[] = [];
  private readonly visibleLists: VisibleLists | undefined;
  /** `chain.assertCaller`: who the caller is, signed for the next proxy; undefined when off. */
  private readonly assertions: OutboundAssertions | undefined;
  /** Input requests across eras and replicas (see src/bridge/). */
  bridge: InputBridge;
  /** Undefined unless `telemetry.otlpEndpoint` is set: then no span work at all. */
  readonly tracing: Tracing | undefined;
  /** Calls not yet finished, so close() can wait for their observers (the audit log) to see them. */
  private inflight = 0;
  private drained: (() => void) | undefined;
  /**
   * The version list cursors carry, one per merged list, bumped only when that list really changed.
   * (The catalog's own version moves on every rebuild, periodic re-lists included, which made every
   * open cursor fail each `catalogRefreshSeconds` although nothing had changed.)
   */
  private readonly listVersions: Record<ListKind, number> = {
    tools: 0,
    prompts: 0,
    resources: 0,
    resourceTemplates: 0,
  };

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    readonly hooks = new HookPipeline(),
    /** Per-caller visibility (the ACL): lists show, and completion reaches, only what it allows. */
    private readonly access?: AccessFilter,
  ) {
    this.catalog = new Catalog(config.namespace, log, config.chain.maxHops);
    this.tracing = Tracing.create(config.telemetry, log);
    this.visibleLists = access ? new VisibleLists(access) : undefined;
    this.bridge = new InputBridge(hooks, config.secrets.requestStateKey, new MemoryReplicaBus());
    this.assertions = OutboundAssertions.create(config.chain, config.secrets.assertionKey);
    this.upstreams = config.upstreams.map(
      (u) =>
        new Upstream(
          u,
          {
            catalogChanged: (_up, kinds) => this.onCatalogChanged(kinds),
            notification: (up, method, params) => this.onUpstreamNotification(up, method, params),
            stateChanged: (up) =>
              this.metrics.upstreamUp.set({ upstream: up.name }, up.state === 'ready' ? 1 : 0),
          },
          log,
        ),
    );
    for (const u of this.upstreams) this.metrics.upstreamUp.set({ upstream: u.name }, 0);
  }

  /** Connects every upstream in parallel; returns once each has settled its first attempt or `waitMs` passed. */
  async start(waitMs: number): Promise<void> {
    await Promise.all(this.upstreams.map((u) => u.start(waitMs)));
  }

  /** Input exchanges may span replicas: answers and resumed calls travel over `bus`. */
  connectReplicas(bus: ReplicaBus): void {
    this.bridge.close();
    this.bridge = new InputBridge(this.hooks, this.config.secrets.requestStateKey, bus);
  }

  /** A downstream session ended: upstreams drop what they kept for it (per-session stdio children). */
  releaseSession(key: string): void {
    for (const u of this.upstreams) u.release(key);
  }

  onChange(listener: (e: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  observe(observer: CallObserver): void {
    this.observers.push(observer);
  }

  private emit(e: ChangeEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'change listener failed');
      }
    }
  }

  /**
   * Rebuilds the merged catalog and reports the lists that really changed. Every kind is compared, not
   * only the kinds the upstream re-listed: a rebuild can also change another kind's merged list (an
   * upstream going down takes all of its lists with it).
   */
  private onCatalogChanged(_kinds: ListKind[]): void {
    const c = this.catalog;
    const before = {
      tools: c.tools,
      prompts: c.prompts,
      resources: c.resources,
      resourceTemplates: c.resourceTemplates,
    };
    c.rebuild(this.upstreams);
    const changed = LIST_KINDS.filter((k) => !sameList(before[k], c[k]));
    for (const k of changed) this.listVersions[k]++;
    if (changed.includes('tools')) this.emit({ kind: 'tools' });
    if (changed.includes('prompts')) this.emit({ kind: 'prompts' });
    if (changed.includes('resources') || changed.includes('resourceTemplates'))
      this.emit({ kind: 'resources' });
  }

  private onUpstreamNotification(
    up: Upstream,
    method: string,
    params: Record<string, unknown> | undefined,
  ): void {
    if (method === 'notifications/resources/updated' && typeof params?.uri === 'string') {
      this.emit({ kind: 'resource_updated', uri: this.catalog.publicResourceUri(up, params.uri), params });
    } else if (method === 'notifications/message' && params) {
      this.emit({ kind: 'log', upstream: up.name, params });
    }
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
    const { page, nextCursor } = paginate(items, kind, this.listVersions[kind], cursor, PAGE_SIZE);
    this.metrics.catalogCache.inc({ result: 'hit' });
    const result: Record<string, unknown> = { [RESULT_PAGE_KEYS[kind]]: page };
    if (nextCursor) result.nextCursor = nextCursor;
    const hints = this.cacheHints();
    result.ttlMs = hints.ttlMs;
    result.cacheScope = hints.cacheScope;
    return result;
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

  private cacheHints(): { ttlMs: number; cacheScope: 'public' | 'private' } {
    let ttlMs = Number.POSITIVE_INFINITY;
    let scope: 'public' | 'private' = this.config.policies.acl.length > 0 ? 'private' : 'public';
    for (const u of this.upstreams) {
      if (u.state !== 'ready') continue;
      ttlMs = Math.min(ttlMs, u.lists.ttlMs ?? 0);
      if (u.lists.cacheScope !== 'public') scope = 'private';
    }
    return { ttlMs: Number.isFinite(ttlMs) ? ttlMs : 0, cacheScope: scope };
  }

  private route(method: CallMethod, params: Record<string, unknown>): Route {
    if (method === 'resources/read') {
      const uri = params.uri;
      const route = typeof uri === 'string' ? this.catalog.resolveResource(uri) : undefined;
      if (!route) throw new ProxyError('UNKNOWN_RESOURCE', `unknown resource: ${String(uri)}`, { uri });
      return route;
    }
    const name = params.name;
    const route =
      typeof name === 'string'
        ? method === 'tools/call'
          ? this.catalog.resolveTool(name)
          : this.catalog.resolvePrompt(name)
        : undefined;
    if (route) return route;
    if (method === 'tools/call')
      throw new ProxyError('UNKNOWN_TOOL', `unknown tool: ${String(name)}`, { name });
    throw new ProxyError('UNKNOWN_PROMPT', `unknown prompt: ${String(name)}`, { name });
  }

  /** Forwards tools/call, prompts/get or resources/read through the hooks to the owning upstream. */
  async call(method: CallMethod, params: Record<string, unknown>, ctx: CallContext, io: CallIO = {}) {
    const t0 = performance.now();
    this.inflight++;
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
        route = this.route(method, params);
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
      if (method === 'resources/read') result = this.publicReadResult(route.upstream, result);
      if (!this.hooks.empty) result = await this.hooks.after(call, result, ctx);
      status = result.isError === true ? 'tool_error' : 'ok';
      return result;
    } catch (err) {
      failure = err;
      throw err;
    } finally {
      const totalMs = performance.now() - t0;
      const names = this.labels(method, params, route);
      span?.end(status, failure, method === 'resources/read' ? (names.public ?? undefined) : undefined);
      const upstreamName = route?.upstream.name ?? '';
      this.metrics.record(method, route ? (names.public ?? '') : '', upstreamName, status, ctx.caller.id);
      this.metrics.decision(ctx.decision);
      if (route)
        this.metrics.latency(
          names.public ?? '',
          upstreamName,
          (totalMs - upstreamMs) / 1000,
          upstreamMs / 1000,
        );
      if (this.observers.length) {
        const record: CallRecord = {
          ctx,
          method,
          publicName: names.public,
          upstream: route?.upstream.name ?? null,
          upstreamName: names.upstream,
          argumentsValue:
            method === 'tools/call'
              ? params.arguments
              : method === 'prompts/get'
                ? params.arguments
                : params.uri,
          totalMs,
          upstreamMs,
          upstreamStatus,
          result: status,
        };
        for (const o of this.observers) o(record);
      }
      if (--this.inflight === 0) this.drained?.();
    }
  }

  /**
   * Names of a call for metrics and the audit record. Tool and prompt names are the catalog's (or what
   * an unknown call sent); a resource URI only when listed, else its template (see Catalog.resourceLabel).
   */
  private labels(
    method: CallMethod,
    params: Record<string, unknown>,
    route: Route | undefined,
  ): { public: string | null; upstream: string | null } {
    if (method === 'resources/read') {
      const label =
        route && typeof params.uri === 'string' ? this.catalog.resourceLabel(params.uri) : undefined;
      return { public: label?.public ?? null, upstream: label?.upstream ?? null };
    }
    const name = params.name;
    return { public: typeof name === 'string' ? name.slice(0, 256) : null, upstream: route?.name ?? null };
  }

  /** resources/read contents name their URI; give back the public form the client asked with. */
  private publicReadResult(up: Upstream, result: Record<string, unknown>): Record<string, unknown> {
    const contents = result.contents;
    if (!Array.isArray(contents)) return result;
    let changed = false;
    const mapped = contents.map((c: Record<string, unknown>) => {
      if (typeof c?.uri !== 'string') return c;
      const uri = this.catalog.publicResourceUri(up, c.uri);
      if (uri === c.uri) return c;
      changed = true;
      return { ...c, uri };
    });
    return changed ? { ...result, contents: mapped } : result;
  }

  /** completion/complete: routes on the prompt name or resource (template) URI of `ref`. */
  async complete(params: Record<string, unknown>, ctx: CallContext, io: CallIO = {}) {
    this.checkHops(ctx.hops);
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    let route: Route | undefined;
    let nextRef: Record<string, unknown> | undefined;
    if (ref?.type === 'ref/prompt' && typeof ref.name === 'string') {
      route = this.catalog.resolvePrompt(ref.name);
      if (route) nextRef = { ...ref, name: route.name };
    } else if (ref?.type === 'ref/resource' && typeof ref.uri === 'string') {
      route = this.catalog.resolveTemplateOwner(ref.uri);
      if (route) nextRef = { ...ref, uri: route.name };
    }
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
  async setLogLevel(level: string, ctx: CallContext): Promise<void> {
    await Promise.allSettled(
      this.upstreams
        .filter((u) => u.state === 'ready' && u.capabilities?.logging && u.era === 'legacy')
        .map((u) => u.request('logging/setLevel', upstreamParams({ level }, ctx), { hop: ctx })),
    );
  }

  /** Closes the upstreams, then waits (briefly) for the calls they were serving to finish and be observed. */
  async close(drainMs = 2_000): Promise<void> {
    this.bridge.close();
    await Promise.all(this.upstreams.map((u) => u.close()));
    if (this.inflight > 0) await this.drain(drainMs);
    await this.tracing?.shutdown().catch((err: Error) => {
      this.log.warn({ err: err.message }, 'trace export failed at shutdown');
    });
  }

  private async drain(drainMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** The upstream's HTTP status when it answered with one; null when no HTTP answer came (or for JSON-RPC errors: 200). */
function upstreamStatusOf(err: unknown): number | null {
  if (err instanceof UpstreamHttpError) return err.status;
  if (err instanceof UpstreamRpcError) return 200;
  const status = err instanceof ProxyError ? err.data.status : undefined;
  return typeof status === 'number' ? status : null;
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
