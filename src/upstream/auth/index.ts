import type { UpstreamConfig } from '../../config/schema.ts';
import { type FetchMiddleware, staticHeaders } from '../fetch-middleware.ts';

/**
 * The auth adapter of one upstream, as fetch middleware. It runs last before the wire so a
 * signature (SigV4) covers exactly the bytes sent; the caller's own credentials never reach it.
 */
export function authMiddleware(upstream: UpstreamConfig): FetchMiddleware | undefined {
  const auth = upstream.auth;
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'headers':
      return staticHeaders(auth.headers);
    default:
      throw new Error(`upstreams.${upstream.name}.auth.kind "${auth.kind}" is not supported by this build yet`);
  }
}
