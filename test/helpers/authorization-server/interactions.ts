import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider } from 'oidc-provider';

const INTERACTION = /^\/interaction\/([^/]+)(?:\/(login|confirm))?$/;

/**
 * The login and consent pages (devInteractions is off): `GET /interaction/:uid` answers JSON naming
 * the prompt, `POST /interaction/:uid/login` (form field `login`) signs in that user, and
 * `POST /interaction/:uid/confirm` grants everything the request asked for. Returns false for any
 * other path (the provider's).
 */
export async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const match = INTERACTION.exec(new URL(req.url ?? '/', 'http://x').pathname);
  if (!match) return false;
  const [, uid, action] = match;
  try {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return reply(res, 400, { error: 'interaction mismatch' });
    if (!action && req.method === 'GET')
      return reply(res, 200, {
        uid,
        prompt: details.prompt.name,
        reasons: details.prompt.reasons,
        client_id: details.params.client_id,
      });
    if (req.method !== 'POST') return reply(res, 405, { error: 'method not allowed' });
    const form = new URLSearchParams(await readBody(req));
    if (action === 'login') {
      const accountId = form.get('login');
      if (!accountId) return reply(res, 400, { error: 'login is required' });
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId } },
        { mergeWithLastSubmission: false },
      );
      return true;
    }
    await provider.interactionFinished(req, res, { consent: { grantId: await grantAll(provider, details) } });
    return true;
  } catch (err) {
    return reply(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The consent: the OIDC scopes, claims and resource scopes the prompt found missing (the package's example). */
async function grantAll(
  provider: Provider,
  details: Awaited<ReturnType<Provider['interactionDetails']>>,
): Promise<string> {
  const accountId = details.session?.accountId;
  if (!accountId) throw new Error('consent before login');
  const grant =
    (details.grantId && (await provider.Grant.find(details.grantId))) ||
    new provider.Grant({ accountId, clientId: String(details.params.client_id) });
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  return grant.save();
}

/**
 * Walks an authorization request as a browser would: follows redirects by hand with a cookie jar of
 * its own, signs in as `sub` and consents when asked, and stops at the first redirect that leaves for
 * the client's redirect_uri (or, without one in the URL, leaves the authorization server), returning
 * that URL unrequested.
 */
export async function loginAndConsent(authorizationRequestUrl: string, sub: string): Promise<string> {
  const start = new URL(authorizationRequestUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  const isCallback = (u: URL) =>
    redirectUri ? `${u.origin}${u.pathname}` === redirectUri.split('?')[0] : u.origin !== start.origin;
  const jar = new Map<string, string>();
  let url = start;
  let form: Record<string, string> | undefined;
  for (let step = 0; step < 20; step++) {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body: form && new URLSearchParams(form).toString(),
    });
    storeCookies(jar, res.headers.getSetCookie());
    const location = res.headers.get('location');
    form = undefined;
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url);
      if (isCallback(url)) return url.href;
      continue;
    }
    const page = INTERACTION.exec(url.pathname);
    if (res.ok && page && !page[2]) {
      const { prompt } = (await res.json()) as { prompt: string };
      url = new URL(`/interaction/${page[1]}/${prompt === 'login' ? 'login' : 'confirm'}`, url);
      form = prompt === 'login' ? { login: sub } : {};
      continue;
    }
    throw new Error(
      `authorization flow stopped at ${url.href}: HTTP ${res.status} ${(await res.text()).slice(0, 500)}`,
    );
  }
  throw new Error('authorization flow did not reach the redirect_uri in 20 steps');
}

/** Enough of a cookie jar for one host: paths are ignored (the provider's cookie names do not repeat). */
function storeCookies(jar: Map<string, string>, setCookies: string[]): void {
  for (const line of setCookies) {
    const [pair = '', ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attributes.some((a) => {
      const [k = '', v = ''] = a.split('=').map((s) => s.trim());
      if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
      return k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now();
    });
    if (!value || expired) jar.delete(name);
    else jar.set(name, value);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return true;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
