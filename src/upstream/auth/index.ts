import { createHash } from 'node:crypto';
import type { ServiceAuthConfig, UpstreamConfig } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import type { GrantStore } from '../../store/grant-store.ts';
import type { FetchMiddleware } from '../fetch-middleware.ts';
import { OAuth2Auth } from './oauth2.ts';
import { SigV4Auth } from './sigv4.ts';
import { TokenExchangeAuth } from './token-exchange.ts';
import type { OutgoingRequest, UpstreamAuth } from './types.ts';
import { UserOAuthAuth } from './user-oauth.ts';

export type { ActingFor, OutgoingRequest, UpstreamAuth } from './types.ts';

export interface AuthOptions {
  log?: Logger;
  /** Where userOAuth keeps its users' grants (the app's; absent in `mcp-fed stdio`). */
  grants?: GrantStore;
}

/**
 * What a per-caller credential is bound to: the upstream's url, authorization server, client and
 * audience. Caches and grants are keyed with it, so a reload that points the name elsewhere never
 * reuses a token issued for the old target.
 */
export function credentialBinding(upstream: UpstreamConfig): string {
  const auth = upstream.auth as Record<string, unknown>;
  const url = upstream.transport === 'stdio' ? '' : upstream.url;
  const parts = [url, auth.kind, auth.tokenUrl, auth.issuer, auth.clientId, auth.audience, auth.resource];
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

/**
 * The auth adapter of one upstream, or undefined for `kind: none`. Create it once per upstream and
 * hand the same instance to the forwarder and every SDK transport: it holds that upstream's
 * credentials and token. The caller's own credentials never reach it.
 */
export function createUpstreamAuth(
  upstream: UpstreamConfig,
  options: AuthOptions = {},
): UpstreamAuth | undefined {
  const auth = upstream.auth;
  if (auth.kind !== 'tokenExchange' && auth.kind !== 'userOAuth') return serviceAuth(upstream, auth, options);
  // Per caller: the proxy's own listing identity beside it, both bound to what the upstream is.
  const catalog = upstream.catalogAuth && serviceAuth(upstream, upstream.catalogAuth, options);
  const binding = credentialBinding(upstream);
  const serverOptions = {
    timeoutMs: Math.min(upstream.timeoutMs, 10_000),
    onInsecure: (message: string) => options.log?.warn({ upstream: upstream.name }, message),
  };
  if (auth.kind === 'tokenExchange')
    return new TokenExchangeAuth(upstream.name, auth, binding, catalog, {
      ...serverOptions,
      onBackgroundError: (err) =>
        options.log?.warn({ upstream: upstream.name, err: (err as Error)?.message }, 'token exchange failed'),
    });
  if (!options.grants)
    throw new Error(
      `upstream "${upstream.name}": userOAuth needs the proxy's HTTP server for its consent callback (not in mcp-fed stdio)`,
    );
  return new UserOAuthAuth(upstream.name, auth, binding, options.grants, catalog, serverOptions);
}

function serviceAuth(
  upstream: UpstreamConfig,
  auth: ServiceAuthConfig,
  options: AuthOptions,
): UpstreamAuth | undefined {
  const log = options.log;
  const onBackgroundError = (err: unknown) =>
    log?.warn(
      { upstream: upstream.name, err: (err as Error)?.message },
      'upstream credential refresh failed',
    );
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'headers':
      return staticHeadersAuth(auth.headers);
    case 'sigv4':
      return new SigV4Auth(upstream.name, auth, { onBackgroundError });
    case 'oauth2':
      return new OAuth2Auth(upstream.name, auth, {
        timeoutMs: Math.min(upstream.timeoutMs, 10_000),
        onBackgroundError,
        onInsecure: (message) => log?.warn({ upstream: upstream.name }, message),
      });
  }
}

function staticHeadersAuth(fixed: Record<string, string>): UpstreamAuth {
  const entries = Object.entries(fixed).map(([k, v]) => [k.toLowerCase(), v] as const);
  return {
    kind: 'headers',
    sign({ headers }) {
      for (const [k, v] of entries) headers[k] = v;
    },
  };
}

/**
 * The adapter as SDK fetch middleware `(next) => fetch`, applied last in the transport's chain (listing,
 * discovery, the GET stream, DELETE). A 401 lets the adapter drop its token and the request is sent
 * once more, freshly signed; the body is a string, so it can be sent again.
 */
export function authFetchMiddleware(auth: UpstreamAuth): FetchMiddleware {
  return (next) => async (url, init) => {
    const target = url instanceof URL ? url : new URL(String(url));
    const base: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => {
      base[k] = v;
    });
    const body = bodyText(init?.body);
    const send = async () => {
      const req: OutgoingRequest = { method: init?.method ?? 'GET', url: target, headers: { ...base }, body };
      await auth.sign(req);
      return { req, res: await next(url, { ...init, headers: req.headers }) };
    };
    const first = await send();
    if (first.res.status !== 401 || !auth.onUnauthorized?.(first.req)) return withoutEcho(first.res);
    await first.res.body?.cancel().catch(() => {});
    return withoutEcho((await send()).res);
  };
}

/**
 * A refusal's body can quote the request back (AWS's SignatureDoesNotMatch prints the canonical
 * request, session token included), and the SDK puts response text into error messages, which reach
 * logs and /readyz. So a 401/403 goes on with its status and headers but a body of our own.
 */
async function withoutEcho(res: Response): Promise<Response> {
  if (res.status !== 401 && res.status !== 403) return res;
  await res.body?.cancel().catch(() => {});
  const type = res.headers.get('x-amzn-errortype')?.split(':')[0];
  const detail = type && /^[A-Za-z]{1,64}$/.test(type) ? ` (${type})` : '';
  const headers = new Headers(res.headers);
  for (const name of ['content-length', 'content-encoding', 'content-type']) headers.delete(name);
  return new Response(`the upstream refused the proxy's credentials${detail}`, {
    status: res.status,
    statusText: res.statusText,
    headers,
  });
}

function bodyText(body: RequestInit['body'] | undefined): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  // The SDK transports only send JSON text; anything else could not be signed faithfully.
  throw new TypeError('upstream auth can only sign string request bodies');
}
