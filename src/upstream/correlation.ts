import { AsyncLocalStorage } from 'node:async_hooks';
import type { FetchMiddleware } from './fetch-middleware.ts';

/** What follows one downstream call across the hop to an upstream (DESIGN.md, "Correlation and chaining"). */
export interface HopContext {
  requestId: string;
  hops: number;
  traceparent?: string;
  tracestate?: string;
}

export const hopContext = new AsyncLocalStorage<HopContext>();

export const HOPS_HEADER = 'x-mcp-fed-hops';
export const HOPS_META_KEY = 'mcp-fed/hops';

/** Stamps the current call's request id, hop count and trace context on the upstream HTTP request. */
export const correlationHeaders: FetchMiddleware = (next) => (url, init) => {
  const ctx = hopContext.getStore();
  if (!ctx) return next(url, init);
  const headers = new Headers(init?.headers);
  headers.set('x-request-id', ctx.requestId);
  headers.set(HOPS_HEADER, String(ctx.hops));
  if (ctx.traceparent) headers.set('traceparent', ctx.traceparent);
  if (ctx.tracestate) headers.set('tracestate', ctx.tracestate);
  return next(url, { ...init, headers });
};
