import { createServer } from 'node:net';
import type { TestAuthorizationServer } from './authorization-server.ts';

/** A free TCP port of 127.0.0.1 (the proxy's redirectUrl must name its port before it listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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
