import type { TestAuthorizationServer } from './authorization-server.ts';

export { freePort } from '../../scripts/lib/free-port.ts';

/** An upstream's `auth` + `catalogAuth` for per-user OAuth at the test authorization server (client `mcp-fed`). */
export function perUserAuth(
  as: TestAuthorizationServer,
  resource: string,
  scope: string,
  redirectUrl: string,
) {
  return {
    auth: {
      kind: 'userOAuth',
      issuer: as.issuer,
      clientId: 'mcp-fed',
      clientSecret: 'proxy-secret',
      scope: `offline_access ${scope}`,
      resource,
      redirectUrl,
    },
    catalogAuth: serviceAuth(as, resource),
  };
}

/** The proxy's own client-credentials token for `resource`: the catalog identity of per-caller upstreams. */
export function serviceAuth(as: TestAuthorizationServer, resource: string) {
  return {
    kind: 'oauth2',
    tokenUrl: as.tokenUrl,
    clientId: 'mcp-fed',
    clientSecret: 'proxy-secret',
    resource,
  };
}

/** The browser's side of a started consent: where the start page sent it, and the cookie it set. */
export interface StartedConsent {
  /** The authorization server's authorization request URL. */
  location: string;
  /** `name=value` of the start page's cookie. */
  cookie: string;
}

/** Opens a consent link as a browser would (no redirect followed): the 302 to the authorization server. */
export async function openConsentLink(link: string): Promise<StartedConsent> {
  const res = await fetch(link, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`the start page answered ${res.status}: ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { location: res.headers.get('location') ?? '', cookie: setCookie.split(';')[0] ?? '' };
}

/** The proxy's callback as the browser reaches it, with whatever cookie it holds. */
export async function callBack(
  callbackUrl: string,
  cookie?: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(callbackUrl, { redirect: 'manual', headers: cookie ? { cookie } : {} });
  return { status: res.status, text: await res.text() };
}

/**
 * The whole consent as `user` in one browser: open the link, sign in and consent at the authorization
 * server, come back to the proxy's callback with the start page's cookie.
 */
export async function consentAs(
  as: TestAuthorizationServer,
  link: string,
  user: string,
): Promise<{ status: number; text: string; started: StartedConsent; callbackUrl: string }> {
  const started = await openConsentLink(link);
  const callbackUrl = await as.loginAndConsent(started.location, user);
  return { ...(await callBack(callbackUrl, started.cookie)), started, callbackUrl };
}
