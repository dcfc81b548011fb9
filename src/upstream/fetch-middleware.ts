import type { FetchLike } from '@modelcontextprotocol/client';

/** `(next) => fetch`, the SDK's own middleware shape: each upstream's transport fetch is a chain of these. */
export type FetchMiddleware = (next: FetchLike) => FetchLike;

/** Composes middlewares so the first one listed sees the request first; the last runs closest to the wire. */
export function composeFetch(base: FetchLike, ...middlewares: FetchMiddleware[]): FetchLike {
  return middlewares.reduceRight<FetchLike>((next, mw) => mw(next), base);
}

/** Adds fixed headers to every request (auth kind `headers`, and per-upstream extra headers). */
export const staticHeaders =
  (headers: Record<string, string>): FetchMiddleware =>
  (next) =>
  (url, init) => {
    const merged = new Headers(init?.headers);
    for (const [k, v] of Object.entries(headers)) merged.set(k, v);
    return next(url, { ...init, headers: merged });
  };
