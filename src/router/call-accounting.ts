import type { Catalog, Route } from '../catalog/catalog.ts';
import { ProxyError, UpstreamRpcError } from '../errors.ts';
import type { CallContext, CallMethod } from '../hooks/pipeline.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { RequestSpan } from '../telemetry/tracing.ts';
import { UpstreamHttpError } from '../upstream/http/wire.ts';
import type { CallObserver, CallRecord } from './types.ts';

/** One governed call as it ended, whichever way it ended. */
export interface FinishedCall {
  method: CallMethod;
  params: Record<string, unknown>;
  ctx: CallContext;
  route: Route | undefined;
  span: RequestSpan | undefined;
  status: CallRecord['result'];
  failure: unknown;
  totalMs: number;
  upstreamMs: number;
  upstreamStatus: number | null;
}

/**
 * The bookkeeping of `Federation.call`: each finished call ends its span, is recorded in the metrics and
 * seen by the call observers (the audit log); calls still running are counted so close() can wait for them.
 */
export class CallAccounting {
  private readonly observers: CallObserver[] = [];
  /** Calls not yet finished, so close() can wait for their observers (the audit log) to see them. */
  private running = 0;
  private drained: (() => void) | undefined;

  constructor(
    private readonly catalog: Catalog,
    private readonly metrics: Metrics,
  ) {}

  get inflight(): number {
    return this.running;
  }

  observe(observer: CallObserver): void {
    this.observers.push(observer);
  }

  started(): void {
    this.running++;
  }

  finished(call: FinishedCall): void {
    const { method, params, ctx, route, span, status, totalMs, upstreamMs } = call;
    const names = this.labels(method, params, route);
    span?.end(status, call.failure, method === 'resources/read' ? (names.public ?? undefined) : undefined);
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
        upstreamStatus: call.upstreamStatus,
        result: status,
      };
      for (const o of this.observers) o(record);
    }
    if (--this.running === 0) this.drained?.();
  }

  /** Resolves once the running calls have finished, or after `drainMs`. */
  async drain(drainMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
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
}

/** The upstream's HTTP status when it answered with one; null when no HTTP answer came (or for JSON-RPC errors: 200). */
export function upstreamStatusOf(err: unknown): number | null {
  if (err instanceof UpstreamHttpError) return err.status;
  if (err instanceof UpstreamRpcError) return 200;
  const status = err instanceof ProxyError ? err.data.status : undefined;
  return typeof status === 'number' ? status : null;
}
