import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import Provider, {
  type Client,
  errors,
  type KoaContextWithOIDC,
  type ResourceServerInfo,
} from 'oidc-provider';
import { handleInteraction, loginAndConsent } from './authorization-server/interactions.ts';
import { ProviderStore } from './authorization-server/store.ts';
import {
  TOKEN_EXCHANGE,
  TOKEN_EXCHANGE_PARAMS,
  tokenExchangeHandler,
} from './authorization-server/token-exchange.ts';

export interface TestClient {
  clientId: string;
  clientSecret: string;
  /** Default: `http://127.0.0.1/callback`; more can be allowed later with `addRedirectUri`. */
  redirectUris?: string[];
}

export interface AuthorizationServerOptions {
  /** Default: one confidential client `mcp-fed` / `proxy-secret`. */
  clients?: TestClient[];
  /** `aud` of `userToken` (the proxy's own inbound audience). Default `http://127.0.0.1/mcp`. */
  proxyAudience?: string;
  /** The resource servers (RFC 8707 indicators) tokens can be asked for; any other is `invalid_target`. */
  resources?: Record<string, { scope: string; accessTokenTTL?: number }>;
  /** Seconds, for resources without their own. Default 300. */
  accessTokenTTL?: number;
  /** A refresh answers with a new refresh token (and consumes the old one). Default false. */
  refreshTokenRotation?: boolean;
}

type GrantCounts = {
  tokenExchange: number;
  authorizationCode: number;
  refreshToken: number;
  clientCredentials: number;
};

export interface TestAuthorizationServer {
  issuer: string;
  jwksUri: string;
  tokenUrl: string;
  authorizationUrl: string;
  /** A JWT for `sub` signed with the provider's own key (kid in its JWKS): iss, aud (proxyAudience), iat, exp, jti. */
  userToken(
    sub: string,
    opts?: { audience?: string; expiresInSeconds?: number; claims?: Record<string, unknown> },
  ): Promise<string>;
  /** Logs in as `sub` and consents to everything; returns the final redirect to the client (code, state, iss). */
  loginAndConsent(authorizationRequestUrl: string, sub: string): Promise<string>;
  /** Successful token endpoint answers, per grant type. */
  counts: GrantCounts;
  /** Token endpoint requests answered with an error, per grant type. */
  failures: GrantCounts;
  /** Subjects whose token exchange is refused (`invalid_grant`, "subject not allowed"). */
  refuseExchangeFor: Set<string>;
  /** Deletes the user's grants and everything issued under them: a refresh then gets `invalid_grant`. */
  revokeUser(sub: string): Promise<void>;
  /** Adds a resource server after start (e.g. an upstream whose URL is only known once it listens). */
  addResource(indicator: string, resource: { scope: string; accessTokenTTL?: number }): void;
  /** Registers one more redirect URI for a client (default `mcp-fed`), e.g. the proxy's once it listens. */
  addRedirectUri(uri: string, clientId?: string): void;
  /** Stops listening (connections are cut); the state stays. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const COUNTED: Record<string, keyof GrantCounts> = {
  [TOKEN_EXCHANGE]: 'tokenExchange',
  authorization_code: 'authorizationCode',
  refresh_token: 'refreshToken',
  client_credentials: 'clientCredentials',
};
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE];
const DEFAULT_CLIENT: TestClient = { clientId: 'mcp-fed', clientSecret: 'proxy-secret' };

/**
 * A real oidc-provider (9.13) on a free port of 127.0.0.1 over plain http, as the upstreams' authorization
 * server in per-caller credential tests: authorization code with PKCE S256 and consent (driven by
 * `loginAndConsent`), refresh tokens, client credentials, RFC 8693 token exchange (registered here),
 * resource indicators with JWT access tokens whose aud is the resource.
 */
export async function startAuthorizationServer(
  options: AuthorizationServerOptions = {},
): Promise<TestAuthorizationServer> {
  const resources = { ...options.resources };
  const defaultTTL = options.accessTokenTTL ?? 300;
  const resourceInfo = (indicator: string): ResourceServerInfo | undefined => {
    const r = resources[indicator];
    return (
      r && {
        scope: r.scope,
        audience: indicator,
        accessTokenFormat: 'jwt',
        accessTokenTTL: r.accessTokenTTL ?? defaultTTL,
      }
    );
  };
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  const signingJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };

  // The issuer has to be known before the provider exists: take the port first and keep it.
  const http = createServer();
  await listen(http, 0);
  const port = (http.address() as AddressInfo).port;
  const issuer = `http://127.0.0.1:${port}`;

  const store = new ProviderStore();
  const clients = options.clients ?? [DEFAULT_CLIENT];
  for (const c of clients)
    store.putClient({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: GRANT_TYPES,
      response_types: ['code'],
      redirect_uris: c.redirectUris ?? ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    });

  const provider = new Provider(issuer, {
    adapter: store.adapterFor,
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    scopes: ['openid', 'offline_access'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // Refresh tokens for every client allowed the grant, whether or not the request said prompt=consent
    // (without it the provider drops offline_access), and never tied to the browser session.
    issueRefreshToken: async (_ctx: unknown, client: Client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: () => options.refreshTokenRotation === true,
    extraTokenClaims: async (_ctx: unknown, token: { gty?: string; clientId?: string }) =>
      token.gty === TOKEN_EXCHANGE ? { act: { sub: token.clientId } } : undefined,
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? defaultTTL,
      ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? defaultTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Grant: 86_400,
      RefreshToken: 86_400,
      Session: 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No resource asked for: an opaque token for userinfo; several granted: the first.
        defaultResource: async (_ctx: unknown, _client: unknown, oneOf?: string[]) => oneOf?.[0],
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          const info = resourceInfo(indicator);
          if (!info) throw new errors.InvalidTarget();
          return info;
        },
      },
    },
  });

  const refuseExchangeFor = new Set<string>();
  provider.registerGrantType(
    TOKEN_EXCHANGE,
    tokenExchangeHandler(provider, { issuer, publicKey, resourceInfo, refuse: refuseExchangeFor }),
    TOKEN_EXCHANGE_PARAMS,
  );

  const counts: GrantCounts = {
    tokenExchange: 0,
    authorizationCode: 0,
    refreshToken: 0,
    clientCredentials: 0,
  };
  const failures: GrantCounts = { ...counts };
  const countIn = (into: GrantCounts) => (ctx: KoaContextWithOIDC) => {
    const key = COUNTED[String(ctx.oidc?.params?.grant_type)];
    if (key) into[key]++;
  };
  provider.on('grant.success', countIn(counts));
  provider.on('grant.error', countIn(failures));

  const callback = provider.callback();
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handleInteraction(provider, req, res).then(
      (handled) => handled || callback(req, res),
      () => res.writeHead(500).end(),
    );
  });

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    tokenUrl: `${issuer}/token`,
    authorizationUrl: `${issuer}/auth`,
    async userToken(sub, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ ...opts.claims })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setSubject(sub)
        .setAudience(opts.audience ?? options.proxyAudience ?? 'http://127.0.0.1/mcp')
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresInSeconds ?? 600))
        .setJti(randomUUID())
        .sign(privateKey);
    },
    loginAndConsent,
    counts,
    failures,
    refuseExchangeFor,
    async revokeUser(sub) {
      store.revokeAccount(sub);
    },
    addResource(indicator, resource) {
      resources[indicator] = resource;
    },
    addRedirectUri(uri, clientId = DEFAULT_CLIENT.clientId) {
      const client = store.live(`Client:${clientId}`);
      if (!client) throw new Error(`no client ${clientId}`);
      // A new metadata object: the provider caches clients by a hash of their metadata.
      store.putClient({
        ...(client as { client_id: string }),
        redirect_uris: [...(client.redirect_uris as string[]), uri],
      });
    },
    stop: () => shut(http),
    async start() {
      if (!http.listening) await listen(http, port);
    },
    close: () => shut(http),
  };
}

function listen(http: ReturnType<typeof createServer>, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
}

function shut(http: ReturnType<typeof createServer>): Promise<void> {
  if (!http.listening) return Promise.resolve();
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}
