/** One outgoing upstream HTTP request as the auth adapter sees it, just before the wire. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  /** Lower-case names; the adapter adds its own (authorization, x-amz-*) in place. */
  headers: Record<string, string>;
  /** The exact body that will be written ('' when there is none). */
  body: string;
  /** The caller this request is sent for; absent: the proxy's own (listing, its own session). */
  actingFor?: ActingFor;
}

/**
 * The downstream caller a request goes upstream for, as the per-caller adapters (tokenExchange,
 * userOAuth) need it. One object per authenticated caller credential, so caches can key on it.
 */
export interface ActingFor {
  /** The caller's id (its JWT's `sub`). */
  readonly callerId: string;
  /** The caller's own bearer token: tokenExchange's subject token, never sent upstream itself. */
  readonly token?: string;
  /** When that token expires (ms since the epoch). */
  readonly expiresAt?: number;
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
  /**
   * Set on the adapters that act for the caller: a call is signed with that caller's credential, a
   * request without `actingFor` (listing, the proxy's own session) with the upstream's `catalogAuth`.
   */
  readonly actsForCaller?: true;
  close?(): void;
}
