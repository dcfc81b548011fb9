import type { IncomingMessage } from 'node:http';

/** The token of `Authorization: Bearer <token>` (scheme case-insensitive), if the header has that form. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const value = req.headers.authorization;
  if (!value) return undefined;
  const space = value.indexOf(' ');
  if (space === -1 || value.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = value.slice(space + 1).trim();
  return token === '' ? undefined : token;
}

/** An API key sent as a bearer token or in `x-api-key`. */
export function apiKeyOf(req: IncomingMessage): string | undefined {
  const bearer = bearerToken(req);
  if (bearer) return bearer;
  const header = req.headers['x-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  return key?.trim() || undefined;
}
