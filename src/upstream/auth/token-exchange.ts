import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { genericGrantRequest } from 'openid-client';
import type { TokenExchangeAuthConfig } from '../../config/schema.ts';
import { authFailed } from './errors.ts';
import {
  AuthorizationServer,
  type HeldToken,
  heldToken,
  oauthErrorOf,
  tokenFailure,
} from './oauth-server.ts';
import type { OAuth2Options } from './oauth2.ts';
import type { ActingFor, OutgoingRequest, UpstreamAuth } from './types.ts';

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Exchanged tokens kept at once (one per live caller token and upstream). */
const MAX_CACHED = 50_000;

/** The same knobs as the client-credentials adapter's (clock, timeouts, background errors, plain http). */
export type TokenExchangeOptions = OAuth2Options;

/**
 * RFC 8693 token exchange for each caller (DESIGN.md, "Acting for the caller"): the caller's inbound
 * JWT is the `subject_token`, the answer a token the authorization server issued for that caller and
 * this upstream (`audience` / `resource`). The caller's own token never goes upstream.
 *
 * Exchanged tokens are cached per (SHA-256 of the subject token, this upstream's binding), refreshed in
 * the background shortly before expiry like OAuth2Auth's, one exchange in flight per key; the hot path
 * is a WeakMap and an LRU lookup. A 401 drops the token it was sent with and the call is sent once more
 * with a fresh exchange. Requests without a caller (listing) are signed by `catalog`, the proxy's own.
 */
export class TokenExchangeAuth implements UpstreamAuth {
  readonly kind = 'tokenExchange';
  readonly actsForCaller = true;
  private readonly server: AuthorizationServer;
  private readonly now: () => number;
  private readonly params: Record<string, string>;
  private readonly cache = new LRUCache<string, HeldToken>({ max: MAX_CACHED });
  private readonly inflight = new Map<string, Promise<HeldToken>>();
  /** The cache key of each caller credential, computed once (a digest per call would cost more than the lookup). */
  private readonly keys = new WeakMap<ActingFor, string>();

  constructor(
    private readonly upstream: string,
    config: TokenExchangeAuthConfig,
    /** Hash of what the tokens are for (url, server, client, audience): a reload to elsewhere never reuses one. */
    private readonly binding: string,
    private readonly catalog: UpstreamAuth | undefined,
    private readonly options: TokenExchangeOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.server = new AuthorizationServer(upstream, config, options);
    const params: Record<string, string> = {
      subject_token_type: config.subjectTokenType,
      requested_token_type: ACCESS_TOKEN_TYPE,
    };
    if (config.audience) params.audience = config.audience;
    if (config.resource) params.resource = config.resource;
    if (config.scope) params.scope = config.scope;
    this.params = params;
  }

  sign(req: OutgoingRequest): void | Promise<void> {
    const who = req.actingFor;
    if (!who) return this.catalog?.sign(req);
    const key = this.keyOf(who);
    const t = this.now();
    const held = this.cache.get(key);
    if (held && t < held.refreshAt) {
      req.headers.authorization = held.header;
      return;
    }
    if (held && t < held.expiresAt) {
      this.exchange(key, who).catch((err) => this.options.onBackgroundError?.(err));
      req.headers.authorization = held.header;
      return;
    }
    return this.exchange(key, who).then((fresh) => {
      req.headers.authorization = fresh.header;
    });
  }

  onUnauthorized(req: OutgoingRequest): boolean {
    const who = req.actingFor;
    if (!who) return this.catalog?.onUnauthorized?.(req) ?? false;
    const key = this.keyOf(who);
    // Only the token that was refused goes: a concurrent 401 must not discard its replacement.
    if (this.cache.get(key)?.header === req.headers.authorization) this.cache.delete(key);
    return true;
  }

  close(): void {
    this.cache.clear();
    this.catalog?.close?.();
  }

  private keyOf(who: ActingFor): string {
    let key = this.keys.get(who);
    if (key === undefined) {
      const subject = who.token ?? '';
      key = `${createHash('sha256').update(subject).digest('base64url')}.${this.binding}`;
      this.keys.set(who, key);
    }
    return key;
  }

  private exchange(key: string, who: ActingFor): Promise<HeldToken> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.request(key, who).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async request(key: string, who: ActingFor): Promise<HeldToken> {
    const subject = who.token;
    if (!subject)
      throw authFailed(
        this.upstream,
        'the caller presented no token to exchange (tokenExchange needs a JWT)',
      );
    if (who.expiresAt !== undefined && who.expiresAt <= this.now())
      throw authFailed(this.upstream, "the caller's token has expired", {
        oauthError: { error: 'invalid_grant', error_description: 'subject token expired' },
      });
    const configuration = await this.server.get();
    const started = this.now();
    let response: Awaited<ReturnType<typeof genericGrantRequest>>;
    try {
      response = await genericGrantRequest(configuration, GRANT_TYPE, {
        ...this.params,
        subject_token: subject,
      });
    } catch (err) {
      const oauthError = oauthErrorOf(err);
      throw authFailed(
        this.upstream,
        oauthError
          ? `the authorization server refused to exchange the caller's token: ${tokenFailure(err)}`
          : `the authorization server could not exchange the caller's token: ${tokenFailure(err)}`,
        oauthError ? { oauthError } : {},
      );
    }
    const exchanged = heldToken(this.upstream, response, started);
    const { expiresAt } = exchanged;
    // Kept no longer than the caller's own token lives: past it the caller cannot call with it anyway.
    const ttl = Math.max(1, Math.min(expiresAt, who.expiresAt ?? expiresAt) - started);
    this.cache.set(key, exchanged, { ttl });
    return exchanged;
  }
}
