import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { ProxyError } from '../../errors.ts';
import { authFailed, describeFetchFailure } from './errors.ts';

/** How the proxy reaches one authorization server as one client (oauth2, tokenExchange, userOAuth). */
export interface AuthorizationServerClient {
  clientId: string;
  clientSecret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
  /** The token endpoint itself (no discovery), or */
  tokenUrl?: string;
  /** the issuer, whose metadata names the endpoints. */
  issuer?: string;
}

export interface AuthorizationServerOptions {
  /** Token and discovery requests give up after this long. */
  timeoutMs?: number;
  /** Told once when the server is reached over plain http on a non-loopback host. */
  onInsecure?: (message: string) => void;
  /** userOAuth: only OpenID Connect discovery will do (it needs the id_token's issuer and keys). */
  openIdOnly?: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
/** When neither `expires_in` nor a JWT `exp` tells the lifetime. */
const DEFAULT_LIFETIME_MS = 300_000;

/**
 * One upstream's authorization server as an `openid-client` Configuration: built from `tokenUrl`, or
 * discovered on `issuer` (OpenID Connect first, as Cognito serves it, then RFC 8414), once; a failed
 * discovery is tried again by the next request. Plain http is allowed (loopback, or with a warning).
 */
export class AuthorizationServer {
  private configuration?: Promise<oidc.Configuration>;
  private warnedInsecure = false;
  private readonly timeoutSeconds: number;

  constructor(
    private readonly upstream: string,
    private readonly client: AuthorizationServerClient,
    private readonly options: AuthorizationServerOptions = {},
  ) {
    this.timeoutSeconds = Math.max(1, Math.ceil((options.timeoutMs ?? 10_000) / 1000));
  }

  /** The Configuration, or UPSTREAM_AUTH_FAILED when the server's settings cannot be had. */
  get(): Promise<oidc.Configuration> {
    this.configuration ??= this.create().catch((err: unknown) => {
      this.configuration = undefined;
      if (err instanceof ProxyError) throw err;
      throw authFailed(this.upstream, 'the authorization server settings could not be used');
    });
    return this.configuration;
  }

  private async create(): Promise<oidc.Configuration> {
    const { clientId, clientSecret, authMethod, tokenUrl, issuer } = this.client;
    const clientAuth =
      authMethod === 'client_secret_post'
        ? oidc.ClientSecretPost(clientSecret)
        : oidc.ClientSecretBasic(clientSecret);
    const where = new URL((tokenUrl ?? issuer)!);
    const insecure = where.protocol === 'http:';
    if (insecure && !LOOPBACK.test(where.hostname) && !this.warnedInsecure) {
      this.warnedInsecure = true;
      this.options.onInsecure?.(
        `upstream "${this.upstream}": the client secret is sent to ${where.origin} without TLS`,
      );
    }
    let configuration: oidc.Configuration;
    if (tokenUrl) {
      configuration = new oidc.Configuration(
        { issuer: where.origin, token_endpoint: tokenUrl },
        clientId,
        undefined,
        clientAuth,
      );
      if (insecure) oidc.allowInsecureRequests(configuration);
    } else {
      configuration = await this.discover(where, clientAuth, insecure);
    }
    configuration.timeout = this.timeoutSeconds;
    return configuration;
  }

  private async discover(issuer: URL, clientAuth: oidc.ClientAuth, insecure: boolean) {
    const options = {
      timeout: this.timeoutSeconds,
      ...(insecure && { execute: [oidc.allowInsecureRequests] }),
    };
    try {
      return await oidc.discovery(issuer, this.client.clientId, undefined, clientAuth, options);
    } catch (first) {
      if (this.options.openIdOnly)
        throw authFailed(this.upstream, `discovery on the issuer failed: ${tokenFailure(first)}`);
      try {
        return await oidc.discovery(issuer, this.client.clientId, undefined, clientAuth, {
          ...options,
          algorithm: 'oauth2',
        });
      } catch {
        throw authFailed(this.upstream, `discovery on the issuer failed: ${tokenFailure(first)}`);
      }
    }
  }
}

export const REFRESH_AHEAD_MAX_MS = 60_000;
export const REFRESH_AHEAD_FRACTION = 0.1;

/** A bearer token as the adapters hold it: the header to send, when to refresh it, when it is dead. */
export interface HeldToken {
  header: string;
  /** From here on a request triggers a background refresh while the token is still used. */
  refreshAt: number;
  /** From here on the token is not sent any more: callers wait for a new one. */
  expiresAt: number;
}

/**
 * A token endpoint's answer as a HeldToken, refreshed ahead of expiry (10% of its lifetime, at most
 * 60 s); UPSTREAM_AUTH_FAILED for a token that is not a bearer token. The raw `expires_in`, not
 * `response.expiresIn()`: that one is re-measured on the real clock and floored, so it loses up to a
 * second (and ignores an injected clock).
 */
export function heldToken(
  upstream: string,
  response: { access_token: string; token_type?: string; expires_in?: number },
  issuedAt: number,
): HeldToken {
  const type = (response.token_type ?? 'bearer').toLowerCase();
  if (type !== 'bearer')
    throw authFailed(
      upstream,
      `the authorization server issued a "${/^[\w-]{1,32}$/.test(type) ? type : '?'}" token, not a bearer token`,
    );
  const lifetime = lifetimeMs(response.access_token, response.expires_in, issuedAt);
  const expiresAt = issuedAt + lifetime;
  return {
    header: `Bearer ${response.access_token}`,
    refreshAt: expiresAt - Math.min(REFRESH_AHEAD_MAX_MS, lifetime * REFRESH_AHEAD_FRACTION),
    expiresAt,
  };
}

/** How long a token lives: `expires_in`, else its JWT `exp`, else five minutes. */
export function lifetimeMs(accessToken: string, expiresIn: number | undefined, issuedAt: number): number {
  if (expiresIn !== undefined && expiresIn > 0) return expiresIn * 1000;
  try {
    const exp = decodeJwt(accessToken).exp;
    if (typeof exp === 'number') return Math.max(0, exp * 1000 - issuedAt);
  } catch {
    // An opaque token: fall through to the default.
  }
  return DEFAULT_LIFETIME_MS;
}

/**
 * Why a token or discovery request failed, without anything the server echoed back: only the OAuth
 * error code and HTTP status, or the connection error.
 */
export function tokenFailure(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) {
    const code = /^[\w.-]{1,64}$/.test(err.error) ? err.error : 'error';
    return `${code} (HTTP ${err.status})`;
  }
  const status = (err as { cause?: { status?: unknown } })?.cause?.status;
  if (typeof status === 'number') return `HTTP ${status}`;
  const reach = describeFetchFailure(err);
  if (reach !== 'failed') return `the server is ${reach}`;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'unexpected response';
}

/**
 * The authorization server's refusal (`error`, `error_description`) for `data.oauthError`, or undefined
 * when it did not answer with one (unreachable, not OAuth). The description is the server's own text
 * about the request, which names no secret; it is cut to a line.
 */
export function oauthErrorOf(err: unknown): { error: string; error_description?: string } | undefined {
  if (!(err instanceof oidc.ResponseBodyError)) return undefined;
  const error = /^[\w.-]{1,64}$/.test(err.error) ? err.error : 'error';
  const description = err.error_description;
  return typeof description === 'string' && description !== ''
    ? { error, error_description: description.replace(/[\r\n]+/g, ' ').slice(0, 200) }
    : { error };
}
