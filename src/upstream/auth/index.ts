import type { UpstreamConfig } from '../../config/schema.ts';
import type { FetchMiddleware } from '../fetch-middleware.ts';
import type { RequestSigner } from '../http-forwarder.ts';

/**
 * The auth adapter of one upstream, as a signer that mutates the outgoing headers. It runs last
 * before the wire so a signature (SigV4) covers exactly the bytes sent; the caller's own credentials
 * never reach it. The same signer serves the lean forwarder and (as fetch middleware) the SDK transport.
 */
export function authSigner(upstream: UpstreamConfig): RequestSigner | undefined {
  const auth = upstream.auth;
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'headers': {
      const fixed = auth.headers;
      return ({ headers }) => {
        for (const [k, v] of Object.entries(fixed)) headers[k.toLowerCase()] = v;
      };
    }
    default:
      throw new Error(
        `upstreams.${upstream.name}.auth.kind "${auth.kind}" is not supported by this build yet`,
      );
  }
}

/** The signer as SDK fetch middleware `(next) => fetch`, applied last in the transport's chain. */
export function authMiddleware(upstream: UpstreamConfig): FetchMiddleware | undefined {
  const signer = authSigner(upstream);
  if (!signer) return undefined;
  return (next) => async (url, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = typeof init?.body === 'string' ? init.body : '';
    await signer({ method: init?.method ?? 'GET', url: new URL(String(url)), headers, body });
    return next(url, { ...init, headers });
  };
}
