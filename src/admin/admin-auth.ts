import type { IncomingMessage } from 'node:http';
import type { AdminConfig, InboundAuthConfig } from '../config/schema.ts';
import { apiKeyAuth } from '../inbound/auth/api-keys.ts';
import { jwtAuth } from '../inbound/auth/jwt.ts';
import type { Authenticator } from '../inbound/auth/types.ts';

/** Who may see /admin: an operator (200), nobody (401), an inbound caller whose key is not an admin key (403). */
export type AdminVerdict =
  | { ok: true; operator: string }
  | { ok: false; status: 401 | 403 | 503; message: string };

type Auth = NonNullable<AdminConfig['auth']>;

const authenticatorOf = (auth: Auth | InboundAuthConfig): Authenticator | undefined =>
  auth.kind === 'jwt' ? jwtAuth(auth) : auth.kind === 'apiKeys' ? apiKeyAuth(auth) : undefined;

/**
 * `admin.auth`: its own API keys or JWTs, sent as `Authorization: Bearer`, `x-api-key`, or as the
 * password of HTTP Basic (so a browser can open the page: it asks once and sends it with every
 * request of the page). A credential that inbound auth accepts but admin auth does not is 403: a
 * caller of the MCP endpoint is not an operator.
 */
export function adminAuth(
  auth: Auth,
  inbound: InboundAuthConfig,
): (headers: Headers) => Promise<AdminVerdict> {
  const admin = authenticatorOf(auth) as Authenticator;
  const callers = authenticatorOf(inbound);
  return async (headers) => {
    const req = requestOf(headers);
    const outcome = await admin.authenticate(req);
    if (outcome.ok) return { ok: true, operator: outcome.caller.id };
    if (outcome.reason === 'unavailable') return { ok: false, status: 503, message: outcome.description };
    if (outcome.reason === 'missing') return { ok: false, status: 401, message: 'credentials are required' };
    const asCaller = callers ? await callers.authenticate(req) : undefined;
    if (asCaller?.ok)
      return { ok: false, status: 403, message: 'this credential is not an admin credential' };
    return { ok: false, status: 401, message: 'the credentials are not valid' };
  };
}

/** The two credential headers the authenticators read, with a Basic password presented as a bearer token. */
function requestOf(headers: Headers): IncomingMessage {
  const out: Record<string, string> = {};
  const authorization = headers.get('authorization');
  const basic = authorization && /^basic\s+(.+)$/i.exec(authorization);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const password = decoded.slice(decoded.indexOf(':') + 1);
    if (password) out.authorization = `Bearer ${password}`;
  } else if (authorization) out.authorization = authorization;
  const key = headers.get('x-api-key');
  if (key) out['x-api-key'] = key;
  return { headers: out } as unknown as IncomingMessage;
}
