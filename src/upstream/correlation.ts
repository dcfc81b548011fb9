import { CALLER_HEADER, CALLER_META_KEY } from '../chain/caller-assertion.ts';
import type { FetchMiddleware } from './fetch-middleware.ts';

/** What follows one downstream call across the hop to an upstream (DESIGN.md, "Correlation and chaining"). */
export interface HopContext {
  requestId: string;
  hops: number;
  traceparent?: string;
  tracestate?: string;
  /** Who the original caller is, signed for the next proxy (`chain.assertCaller`); only on calls. */
  callerAssertion?: string;
}

export const HOPS_HEADER = 'x-mcp-fed-hops';
export const HOPS_META_KEY = 'mcp-fed/hops';
/** The request id also rides in `_meta`, so it crosses stdio hops, which have no headers. */
export const REQUEST_ID_META_KEY = 'mcp-fed/requestId';

/** The correlation headers for one upstream request. */
export function correlationHeaderValues(hop: HopContext, into: Record<string, string>): void {
  into['x-request-id'] = hop.requestId;
  into[HOPS_HEADER] = String(hop.hops);
  if (hop.traceparent) into.traceparent = hop.traceparent;
  if (hop.tracestate) into.tracestate = hop.tracestate;
  if (hop.callerAssertion) into[CALLER_HEADER] = hop.callerAssertion;
}

/**
 * For requests the SDK client sends (listing, stdio-less rare methods, SSE upstreams): the headers are
 * derived from the correlation keys the router put in the message's `_meta`. Parsing the body costs
 * nothing that matters here; the hot path (http/streamable-http-client.ts) sets the headers directly instead.
 */
export const correlationHeaders: FetchMiddleware = (next) => (url, init) => {
  const body = init?.body;
  if (typeof body !== 'string' || !body.includes(HOPS_META_KEY)) return next(url, init);
  let meta: Record<string, unknown> | undefined;
  try {
    meta = (JSON.parse(body) as { params?: { _meta?: Record<string, unknown> } }).params?._meta;
  } catch {
    return next(url, init);
  }
  if (!meta || typeof meta[REQUEST_ID_META_KEY] !== 'string') return next(url, init);
  const values: Record<string, string> = {};
  correlationHeaderValues(
    {
      requestId: meta[REQUEST_ID_META_KEY] as string,
      hops: Number(meta[HOPS_META_KEY]) || 1,
      traceparent: typeof meta.traceparent === 'string' ? meta.traceparent : undefined,
      tracestate: typeof meta.tracestate === 'string' ? meta.tracestate : undefined,
      callerAssertion: typeof meta[CALLER_META_KEY] === 'string' ? meta[CALLER_META_KEY] : undefined,
    },
    values,
  );
  const headers = new Headers(init?.headers);
  for (const [k, v] of Object.entries(values)) headers.set(k, v);
  return next(url, { ...init, headers });
};
