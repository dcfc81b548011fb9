import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { refreshTokenGrant } from 'openid-client';
import type { UserOAuthConfig } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { GrantKey, GrantStore, UserGrant } from '../../store/grant-store.ts';
import { ConsentFlow, type ConsentRequest } from './consent-flow.ts';
import { authFailed } from './errors.ts';
import {
  AuthorizationServer,
  lifetimeMs,
  oauthErrorOf,
  REFRESH_AHEAD_FRACTION,
  REFRESH_AHEAD_MAX_MS,
  tokenFailure,
} from './oauth-server.ts';
import type { ActingFor, OutgoingRequest, UpstreamAuth } from './types.ts';

/** A refresh lock outlives any token request (they time out sooner), so a dead holder frees it. */
const LOCK_TTL_MS = 15_000;
const LOCK_WAIT_MS = 10_000;
const LOCK_POLL_MS = 100;
/** A caller asking again within this long gets the same consent link (agents retry). */
const SAME_LINK_MS = 60_000;

export interface UserOAuthOptions {
  timeoutMs?: number;
  now?: () => number;
  onInsecure?: (message: string) => void;
}

/**
 * Per-user OAuth (DESIGN.md, "Acting for the caller"): each caller's calls carry that user's own access
 * token, from a grant the user gave through the authorization-code flow (ConsentFlow). A caller without
 * a grant gets UPSTREAM_CONSENT_REQUIRED with a link to the proxy's `/oauth/start/{id}`.
 *
 * Grants live in the GrantStore (shared by replicas on Redis). A token near expiry, or one the upstream
 * answered 401 to, is refreshed under the store's lock, so two replicas never spend one rotating
 * refresh token at once: the one that waits reads the other's result. A refresh the server refuses with
 * `invalid_grant` (revoked, expired) drops the grant and asks the user again.
 */
export class UserOAuthAuth implements UpstreamAuth {
  readonly kind = 'userOAuth';
  readonly actsForCaller = true;
  readonly consent: ConsentFlow;
  private readonly server: AuthorizationServer;
  private readonly now: () => number;
  private readonly holder = randomUUID();
  private readonly refreshing = new Map<string, Promise<UserGrant>>();
  /** Access tokens the upstream refused (401), by grant field: the next use refreshes first. */
  private readonly refused = new LRUCache<string, string>({ max: 10_000 });
  private readonly links = new LRUCache<string, ConsentRequest>({ max: 10_000, ttl: SAME_LINK_MS });

  constructor(
    readonly upstream: string,
    private readonly config: UserOAuthConfig,
    readonly binding: string,
    private readonly grants: GrantStore,
    private readonly catalog: UpstreamAuth | undefined,
    options: UserOAuthOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.server = new AuthorizationServer(upstream, config, { ...options, openIdOnly: true });
    this.consent = new ConsentFlow(this, config, this.server, grants);
  }

  sign(req: OutgoingRequest): void | Promise<void> {
    const who = req.actingFor;
    if (!who) return this.catalog?.sign(req);
    return this.grantFor(who).then((grant) => {
      req.headers.authorization = `Bearer ${grant.accessToken}`;
    });
  }

  onUnauthorized(req: OutgoingRequest): boolean {
    const who = req.actingFor;
    if (!who) return this.catalog?.onUnauthorized?.(req) ?? false;
    const sent = req.headers.authorization?.replace(/^Bearer /, '');
    if (sent) this.refused.set(who.callerId, sent);
    return true;
  }

  keyOf(caller: string): GrantKey {
    return { upstream: this.upstream, binding: this.binding, caller };
  }

  /** Whether a grant exists for the caller now (the 2026-07-28 consent wait polls this). */
  async hasGrant(caller: string): Promise<boolean> {
    return (await this.read(this.keyOf(caller))) !== undefined;
  }

  /** How many users granted access here (for /admin). */
  grantCount(): Promise<number> {
    return this.grants.count(this.upstream);
  }

  /** The caller withdraws consent (`DELETE /oauth/grants/{upstream}`). */
  withdraw(caller: string): Promise<boolean> {
    this.links.delete(caller);
    return this.grants.delete(this.keyOf(caller));
  }

  close(): void {
    this.catalog?.close?.();
  }

  private async grantFor(who: ActingFor): Promise<UserGrant> {
    const key = this.keyOf(who.callerId);
    const grant = await this.read(key);
    if (!grant) throw await this.consentRequired(who.callerId);
    const refused = this.refused.get(who.callerId) === grant.accessToken;
    const ahead = Math.min(REFRESH_AHEAD_MAX_MS, (grant.expiresAt - this.now()) * REFRESH_AHEAD_FRACTION);
    if (!refused && this.now() < grant.expiresAt - Math.max(ahead, 5_000)) return grant;
    return this.refresh(key, grant);
  }

  private async read(key: GrantKey): Promise<UserGrant | undefined> {
    try {
      return await this.grants.get(key);
    } catch {
      throw this.storeUnavailable();
    }
  }

  /** One refresh per grant at a time here, and across replicas under the store's lock. */
  private refresh(key: GrantKey, seen: UserGrant): Promise<UserGrant> {
    let pending = this.refreshing.get(key.caller);
    if (!pending) {
      pending = this.refreshLocked(key, seen).finally(() => this.refreshing.delete(key.caller));
      this.refreshing.set(key.caller, pending);
    }
    return pending;
  }

  private async refreshLocked(key: GrantKey, seen: UserGrant): Promise<UserGrant> {
    const deadline = this.now() + LOCK_WAIT_MS;
    while (!(await this.grants.lock(key, this.holder, LOCK_TTL_MS).catch(() => false))) {
      if (this.now() > deadline)
        throw authFailed(this.upstream, 'another replica is refreshing this grant; try again shortly');
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
      const now = await this.read(key);
      if (!now) throw await this.consentRequired(key.caller);
      if (now.accessToken !== seen.accessToken) return now; // the other replica refreshed it
    }
    try {
      const current = await this.read(key);
      if (!current) throw await this.consentRequired(key.caller);
      if (current.accessToken !== seen.accessToken) return current;
      return await this.refreshNow(key, current);
    } finally {
      await this.grants.unlock(key, this.holder).catch(() => {});
    }
  }

  private async refreshNow(key: GrantKey, grant: UserGrant): Promise<UserGrant> {
    if (!grant.refreshToken) {
      // Nothing to refresh with: the user is asked again once the token is unusable.
      if (this.now() < grant.expiresAt && this.refused.get(key.caller) !== grant.accessToken) return grant;
      await this.grants.delete(key).catch(() => {});
      throw await this.consentRequired(key.caller);
    }
    const configuration = await this.server.get();
    const started = this.now();
    let response: Awaited<ReturnType<typeof refreshTokenGrant>>;
    try {
      response = await refreshTokenGrant(
        configuration,
        grant.refreshToken,
        this.config.resource ? { resource: this.config.resource } : undefined,
      );
    } catch (err) {
      const oauthError = oauthErrorOf(err);
      if (oauthError?.error === 'invalid_grant') {
        // Revoked or expired at the server: the grant is worth nothing, the user decides again.
        await this.grants.delete(key).catch(() => {});
        throw await this.consentRequired(key.caller);
      }
      throw authFailed(
        this.upstream,
        `the authorization server could not refresh the grant: ${tokenFailure(err)}`,
        oauthError ? { oauthError } : {},
      );
    }
    const fresh: UserGrant = {
      accessToken: response.access_token,
      // A server that rotates refresh tokens sends a new one; one that does not keeps the old valid.
      refreshToken: response.refresh_token ?? grant.refreshToken,
      expiresAt: started + lifetimeMs(response.access_token, response.expires_in, started),
      scope: response.scope ?? grant.scope,
      sub: grant.sub,
    };
    await this.grants.put(key, fresh);
    return fresh;
  }

  /** UPSTREAM_CONSENT_REQUIRED with a fresh (or, within a minute, the same) consent link. */
  async consentRequired(caller: string): Promise<ProxyError> {
    let request = this.links.get(caller);
    if (!request) {
      request = await this.consent.request(caller).catch(() => {
        throw this.storeUnavailable();
      });
      this.links.set(caller, request);
    }
    return new ProxyError('UPSTREAM_CONSENT_REQUIRED', request.message, {
      upstream: this.upstream,
      authorizationUrl: request.url,
      elicitationId: request.elicitationId,
    });
  }

  /** Grants are failed closed on: a call never goes out as if the user had no grant, or as the proxy. */
  private storeUnavailable(): ProxyError {
    return new ProxyError(
      'STORE_UNAVAILABLE',
      `upstream "${this.upstream}": the grant store is unavailable; try again shortly`,
      { upstream: this.upstream, retryAfterMs: 1_000 },
      503,
    );
  }
}
