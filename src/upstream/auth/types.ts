/** One outgoing upstream HTTP request as the auth adapter sees it, just before the wire. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  /** Lower-case names; the adapter adds its own (authorization, x-amz-*) in place. */
  headers: Record<string, string>;
  /** The exact body that will be written ('' when there is none). */
  body: string;
}

/**
 * The auth adapter of one upstream (none, static headers, SigV4, OAuth2). One instance serves every
 * request to that upstream, over the lean forwarder and the SDK transports alike, so caches (AWS
 * credentials, the signing key, the OAuth token) are shared. `sign` runs last, after every other
 * header is set, so a signature covers exactly what is sent.
 */
export interface UpstreamAuth {
  readonly kind: string;
  /** Adds the credentials to `req.headers`. Synchronous when nothing has to be fetched. */
  sign(req: OutgoingRequest): void | Promise<void>;
  /**
   * The upstream answered 401 to `req` (as signed). Drops what made it fail (a revoked or expired
   * token) and says whether the request should be sent again, once, with fresh credentials.
   */
  onUnauthorized?(req: OutgoingRequest): boolean;
  close?(): void;
}
