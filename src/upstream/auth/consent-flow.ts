import { createHash, timingSafeEqual } from 'node:crypto';
import {
  AuthorizationResponseError,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  ResponseBodyError,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
} from 'openid-client';
import type { UserOAuthConfig } from '../../config/schema.ts';
import type { GrantStore } from '../../store/grant-store.ts';
import { type AuthorizationServer, lifetimeMs } from './oauth-server.ts';

/** The cookie the start page sets and the callback needs: `__Host-` (Secure, Path=/, no Domain). */
export const CONSENT_COOKIE = '__Host-mcp-fed-oauth';
const TTL_MS = 10 * 60_000;

/** What a caller without a grant is given: the proxy's own start link, never the server's. */
export interface ConsentRequest {
  elicitationId: string;
  url: string;
  message: string;
}

/** Who asked, for which upstream (bound to what it was when asked). */
export interface ConsentRecord {
  caller: string;
  upstream: string;
  binding: string;
}

/** A started authorization: spent by its one callback. */
export interface StateRecord extends ConsentRecord {
  state: string;
  elicitationId: string;
  verifier: string;
  nonce: string;
  /** SHA-256 of the start page's cookie. */
  cookie: string;
}

/** The callback is refused: `status` and a message for the person in the browser (no secrets). */
export class ConsentRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What ConsentFlow needs of its adapter. */
interface ConsentOwner {
  readonly upstream: string;
  readonly binding: string;
}

/**
 * The authorization-code flow of one userOAuth upstream, PKCE S256 always (DESIGN.md, "Acting for the
 * caller"). `request` records who asked and gives the link; `start` (GET /oauth/start/{id}) makes a
 * single-use state bound to a fresh cookie and sends the browser to the authorization server with
 * `openid` in the scope; `finish` (GET /oauth/callback) exchanges the code, with `iss` (RFC 9207),
 * state, nonce and the verifier checked by openid-client, and accepts the grant only when the id_token's
 * `sub` is the caller who asked: a link forwarded to another user grants nothing.
 */
export class ConsentFlow {
  private readonly startBase: string;

  constructor(
    private readonly owner: ConsentOwner,
    private readonly config: UserOAuthConfig,
    private readonly server: AuthorizationServer,
    private readonly grants: GrantStore,
  ) {
    this.startBase = config.redirectUrl.replace(/\/oauth\/callback$/, '/oauth/start/');
  }

  async request(caller: string): Promise<ConsentRequest> {
    const elicitationId = randomState();
    const record: ConsentRecord = { caller, upstream: this.owner.upstream, binding: this.owner.binding };
    await this.grants.putOnce(`consent:${elicitationId}`, JSON.stringify(record), TTL_MS);
    return {
      elicitationId,
      url: `${this.startBase}${elicitationId}`,
      message: `"${this.owner.upstream}" acts with your own account: sign in and consent at the link, then try again`,
    };
  }

  /** The start page: where to send the browser, and the cookie value to set. */
  async start(
    record: ConsentRecord,
    elicitationId: string,
  ): Promise<{ location: string; cookie: string; state: string }> {
    const verifier = randomPKCECodeVerifier();
    const state = randomState();
    const nonce = randomNonce();
    const cookie = randomState();
    const started: StateRecord = { ...record, state, elicitationId, verifier, nonce, cookie: digest(cookie) };
    const configuration = await this.server.get();
    await this.grants.putOnce(`state:${state}`, JSON.stringify(started), TTL_MS);
    const scope = new Set(this.config.scope.split(/\s+/).filter(Boolean));
    scope.add('openid');
    const params: Record<string, string> = {
      redirect_uri: this.config.redirectUrl,
      scope: [...scope].join(' '),
      state,
      nonce,
      code_challenge: await calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    };
    // A refresh token for offline use needs the user's explicit consent (OpenID Connect Core 11).
    if (scope.has('offline_access')) params.prompt = 'consent';
    if (this.config.resource) params.resource = this.config.resource;
    if (this.config.audience) params.audience = this.config.audience;
    return { location: buildAuthorizationUrl(configuration, params).href, cookie, state };
  }

  /** The callback: the code exchanged, the user checked, the grant stored. Throws ConsentRefused. */
  async finish(started: StateRecord, query: URLSearchParams): Promise<void> {
    const configuration = await this.server.get();
    const current = new URL(this.config.redirectUrl);
    current.search = query.toString();
    let tokens: Awaited<ReturnType<typeof authorizationCodeGrant>>;
    const t0 = Date.now();
    try {
      tokens = await authorizationCodeGrant(configuration, current, {
        pkceCodeVerifier: started.verifier,
        expectedState: started.state,
        expectedNonce: started.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw callbackFailure(err);
    }
    const sub = tokens.claims()?.sub;
    if (sub !== started.caller)
      throw new ConsentRefused(
        403,
        'You signed in as a different user than the one who asked: nothing was granted. Ask your agent for a new link and sign in as yourself.',
      );
    await this.grants.put(
      { upstream: started.upstream, binding: started.binding, caller: started.caller },
      {
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: t0 + lifetimeMs(tokens.access_token, tokens.expires_in, t0),
        scope: tokens.scope,
        sub,
      },
    );
  }
}

/** Reads a consent request (not spent: the user may open the link again). */
export async function readConsent(grants: GrantStore, id: string): Promise<ConsentRecord | undefined> {
  const text = await grants.peekOnce(`consent:${id}`);
  return text === undefined ? undefined : (JSON.parse(text) as ConsentRecord);
}

/** Spends a state: the first callback gets it, any later one nothing. */
export async function takeState(grants: GrantStore, state: string): Promise<StateRecord | undefined> {
  const text = await grants.takeOnce(`state:${state}`);
  return text === undefined ? undefined : (JSON.parse(text) as StateRecord);
}

/** Whether the browser's cookie is the one its start page set. */
export function cookieMatches(started: StateRecord, cookie: string | undefined): boolean {
  if (!cookie) return false;
  const a = Buffer.from(digest(cookie));
  const b = Buffer.from(started.cookie);
  return a.length === b.length && timingSafeEqual(a, b);
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

function callbackFailure(err: unknown): ConsentRefused {
  if (err instanceof AuthorizationResponseError)
    return new ConsentRefused(400, `The authorization server did not grant access (${safe(err.error)}).`);
  if (err instanceof ResponseBodyError)
    return new ConsentRefused(400, `The authorization server refused the code (${safe(err.error)}).`);
  const code = (err as { code?: unknown })?.code;
  // openid-client's own checks (iss, state, nonce, the id_token's claims) fail with an OAUTH_* code.
  if (typeof code === 'string' && code.startsWith('OAUTH_') && code !== 'OAUTH_TIMEOUT')
    return new ConsentRefused(400, 'The authorization response did not check out (issuer, state or token).');
  return new ConsentRefused(502, 'The authorization server could not be reached; try the link again.');
}

const safe = (s: string) => (/^[\w.-]{1,64}$/.test(s) ? s : 'error');
