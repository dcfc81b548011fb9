import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { TelemetryConfig } from '../config/schema.ts';
import type { CallContext } from '../hooks/pipeline.ts';
import type { Logger } from '../log.ts';

/**
 * Span attribute names. MCP's own semantic conventions (`mcp.method.name`, `mcp.request.id`) where they
 * exist, `gen_ai.tool.name` for the tool, and `mcp_fed.*` for what only a proxy knows.
 */
export const ATTR = {
  method: 'mcp.method.name',
  tool: 'gen_ai.tool.name',
  prompt: 'gen_ai.prompt.name',
  resource: 'mcp.resource.uri',
  requestId: 'mcp.request.id',
  upstream: 'mcp_fed.upstream',
  upstreamName: 'mcp_fed.upstream.name',
  caller: 'enduser.id',
  hops: 'mcp_fed.hops',
  decision: 'mcp_fed.policy_decision',
  era: 'mcp_fed.era',
} as const;

const propagator = new W3CTraceContextPropagator();
const getter = {
  get: (carrier: Record<string, string | undefined>, key: string) => carrier[key],
  keys: (carrier: Record<string, string | undefined>) => Object.keys(carrier),
};

/** One traced MCP request: its server span, and the client span of the upstream call (if one is made). */
export interface RequestSpan {
  /**
   * Starts the client span of the upstream call and points `ctx.traceparent`/`tracestate` at it, so the
   * headers and `_meta` sent upstream name this span as the parent.
   */
  upstreamStart(upstream: string, upstreamName: string | undefined): void;
  /** Ends the client span (error when `err` is set). */
  upstreamEnd(status: number | null, err?: unknown): void;
  /** Ends the server span; `resource` is a resource read's loggable label (listed URI or template). */
  end(result: 'ok' | 'tool_error' | 'error', err?: unknown, resource?: string): void;
}

/**
 * Tracing (DESIGN.md, "Correlation and chaining"): a server span per MCP request whose parent is the
 * caller's W3C trace context (HTTP headers or `params._meta`, already in the CallContext), a client span
 * per upstream call. Spans go to `telemetry.otlpEndpoint` + `/v1/traces` as OTLP/HTTP JSON. Absent
 * (undefined) when no endpoint is configured: callers check once and do nothing else.
 */
export class Tracing {
  private readonly provider: BasicTracerProvider;
  private readonly tracer: Tracer;

  private constructor(endpoint: string, serviceName: string, log: Logger) {
    const exporter = new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      spanProcessors: [
        new BatchSpanProcessor(exporter, { scheduledDelayMillis: 500, maxExportBatchSize: 512 }),
      ],
    });
    this.tracer = this.provider.getTracer('mcp-fed');
    log.info({ endpoint }, 'tracing to OTLP/HTTP');
  }

  static create(cfg: TelemetryConfig, log: Logger): Tracing | undefined {
    return cfg.otlpEndpoint ? new Tracing(cfg.otlpEndpoint, cfg.serviceName, log) : undefined;
  }

  /**
   * Starts the server span of one request. From here on `ctx.traceparent` names this span (a request
   * that came without trace context starts a new trace), so the audit record's trace_id is the span's.
   */
  request(method: string, name: string | undefined, ctx: CallContext): RequestSpan {
    const parent = parentContext(ctx);
    const attributes: Attributes = {
      [ATTR.method]: method,
      [ATTR.requestId]: ctx.requestId,
      [ATTR.caller]: ctx.caller.id,
      [ATTR.hops]: ctx.hops,
      [ATTR.era]: ctx.era,
    };
    if (name !== undefined)
      attributes[
        method === 'tools/call' ? ATTR.tool : method === 'prompts/get' ? ATTR.prompt : ATTR.resource
      ] = name;
    const server = this.tracer.startSpan(
      name ? `${method} ${name}` : method,
      { kind: SpanKind.SERVER, attributes },
      parent,
    );
    adopt(ctx, server);
    const serverCtx = trace.setSpan(parent, server);
    let client: Span | undefined;
    const tracer = this.tracer;
    return {
      upstreamStart(upstream, upstreamName) {
        const attributes: Attributes = {
          [ATTR.method]: method,
          [ATTR.upstream]: upstream,
          [ATTR.requestId]: ctx.requestId,
          [ATTR.hops]: ctx.hops,
        };
        if (upstreamName !== undefined) attributes[ATTR.upstreamName] = upstreamName;
        client = tracer.startSpan(`${method} ${upstream}`, { kind: SpanKind.CLIENT, attributes }, serverCtx);
        server.setAttribute(ATTR.upstream, upstream);
        adopt(ctx, client);
      },
      upstreamEnd(status, err) {
        if (!client) return;
        if (status !== null) client.setAttribute('http.response.status_code', status);
        if (err) fail(client, err);
        client.end();
        adopt(ctx, server);
      },
      end(result, err, resource) {
        if (resource !== undefined) server.setAttribute(ATTR.resource, resource);
        server.setAttribute(ATTR.decision, ctx.decision);
        server.setAttribute('mcp_fed.result', result);
        if (err) fail(server, err);
        server.end();
      },
    };
  }

  /** Sends what is buffered and stops. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

function parentContext(ctx: CallContext): Context {
  if (!ctx.traceparent) return ROOT_CONTEXT;
  return propagator.extract(
    ROOT_CONTEXT,
    { traceparent: ctx.traceparent, tracestate: ctx.tracestate },
    getter,
  );
}

/** Points the call's W3C trace context at `span` (what goes upstream and into the audit record). */
function adopt(ctx: CallContext, span: Span): void {
  const sc = span.spanContext();
  ctx.traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
  const ts = sc.traceState?.serialize();
  ctx.tracestate = ts ? ts : undefined;
}

function fail(span: Span, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  if (err instanceof Error) span.recordException(err);
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), or null when it has none. */
export function traceIdOf(traceparent: string | undefined): string | null {
  if (!traceparent) return null;
  const id = traceparent.split('-')[1];
  return id && /^[0-9a-f]{32}$/.test(id) && !/^0+$/.test(id) ? id : null;
}
