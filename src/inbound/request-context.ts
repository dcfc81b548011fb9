import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { CallContext, Caller } from '../hooks/pipeline.ts';
import { HOPS_HEADER, HOPS_META_KEY } from '../upstream/correlation.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export const ANONYMOUS: Caller = { id: 'anonymous', groups: [] };

type HeaderSource = IncomingHttpHeaders | Headers | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Proxies this request crossed, this one included (`x-mcp-fed-hops` / `_meta["mcp-fed/hops"]` + 1). */
export function hopsOf(headers: HeaderSource, meta: Record<string, unknown> | undefined): number {
  const metaHops = Number(meta?.[HOPS_META_KEY]);
  const headerHops = Number(header(headers, HOPS_HEADER));
  return Math.max(Number.isFinite(metaHops) ? metaHops : 0, Number.isFinite(headerHops) ? headerHops : 0) + 1;
}

/**
 * The per-request context from HTTP headers and `params._meta`: a request id (the caller's if it is
 * well formed, else new), the hop count including this proxy, and W3C trace context.
 */
export function callContext(
  headers: HeaderSource,
  meta: Record<string, unknown> | undefined,
  caller: Caller,
  era: 'modern' | 'legacy',
): CallContext {
  const incomingId = header(headers, 'x-request-id');
  const tp = (meta?.traceparent as string | undefined) ?? header(headers, 'traceparent');
  const ts = (meta?.tracestate as string | undefined) ?? header(headers, 'tracestate');
  return {
    requestId: incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID(),
    caller,
    era,
    hops: hopsOf(headers, meta),
    traceparent: tp && TRACEPARENT.test(tp) ? tp : undefined,
    tracestate: tp && ts ? ts : undefined,
    decision: 'allow',
    tokenIds: [],
    hookMs: 0,
  };
}
