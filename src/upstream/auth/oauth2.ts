import type * as oidc from 'openid-client';
import { clientCredentialsGrant } from 'openid-client';
import type { OAuth2AuthConfig } from '../../config/schema.ts';
import { authFailed } from './errors.ts';
import { AuthorizationServer, type HeldToken, heldToken, tokenFailure } from './oauth-server.ts';
import type { OutgoingRequest, UpstreamAuth } from './types.ts';

export interface OAuth2Options {
  now?: () => number;
  /** Token and discovery requests give up after this long. */
  timeoutMs?: number;
  onBackgroundError?: (err: unknown) => void;
  /** Told once when a token endpoint is reached over plain http on a non-loopback host. */
  onInsecure?: (message: string) => void;
}

/** After a failed token request, calls fail fast with the same error for this long instead of queueing. */
const FAILURE_HOLD_MS = 1_000;

/**
 * OAuth 2.0 client credentials (Amazon Cognito or any OAuth server) through `openid-client`: the token
 * endpoint from `tokenUrl` or from discovery on `issuer`, client_secret_basic or client_secret_post,
 * `scope`, and `audience` / `resource` (RFC 8707).
 *
 * One token per upstream, in memory. It is refreshed ahead of expiry (10% of its lifetime, at most
 * 60 s): a request in that window triggers one background refresh and still goes out with the current
 * token, so the hot path only waits when there is no valid token at all. Concurrent callers share one
 * token request. A 401 from the upstream drops the token it was sent with, and the caller retries once.
 */
export class OAuth2Auth implements UpstreamAuth {
  readonly kind = 'oauth2';
  private token?: HeldToken;
  private inflight?: Promise<HeldToken>;
  private failure?: { error: Error; until: number };
  private readonly server: AuthorizationServer;
  private readonly now: () => number;
  private readonly params: Record<string, string>;

  constructor(
    private readonly upstream: string,
    config: OAuth2AuthConfig,
    private readonly options: OAuth2Options = {},
  ) {
    this.now = options.now ?? Date.now;
    this.server = new AuthorizationServer(upstream, config, options);
    const params: Record<string, string> = {};
    if (config.scope) params.scope = config.scope;
    if (config.audience) params.audience = config.audience;
    if (config.resource) params.resource = config.resource;
    this.params = params;
  }

  sign(req: OutgoingRequest): void | Promise<void> {
    const t = this.now();
    const token = this.token;
    if (token && t < token.refreshAt) {
      req.headers.authorization = token.header;
      return;
    }
    if (token && t < token.expiresAt) {
      this.fetchToken().catch((err) => this.options.onBackgroundError?.(err));
      req.headers.authorization = token.header;
      return;
    }
    return this.fetchToken().then((fresh) => {
      req.headers.authorization = fresh.header;
    });
  }

  onUnauthorized(req: OutgoingRequest): boolean {
    // Only the token that was refused is dropped: a concurrent 401 must not discard its replacement.
    if (this.token && this.token.header === req.headers.authorization) this.token = undefined;
    return true;
  }

  private fetchToken(): Promise<HeldToken> {
    const failure = this.failure;
    if (failure && this.now() < failure.until) return Promise.reject(failure.error);
    this.inflight ??= this.requestToken()
      .then(
        (token) => {
          this.failure = undefined;
          return token;
        },
        (error: Error) => {
          this.failure = { error, until: this.now() + FAILURE_HOLD_MS };
          throw error;
        },
      )
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }

  private async requestToken(): Promise<HeldToken> {
    const configuration = await this.server.get();
    const started = this.now();
    let response: oidc.TokenEndpointResponse;
    try {
      response = await clientCredentialsGrant(configuration, this.params);
    } catch (err) {
      throw authFailed(this.upstream, `no access token from the authorization server: ${tokenFailure(err)}`);
    }
    const token = heldToken(this.upstream, response, started);
    this.token = token;
    return token;
  }
}
