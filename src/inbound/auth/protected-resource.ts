import type { IncomingMessage } from 'node:http';
import type { JwtAuthConfig } from './jwt.ts';

export const WELL_KNOWN_PATH = '/.well-known/oauth-protected-resource';

/**
 * The proxy's public origin for the metadata URL: the audience's when it is an http(s) URL (it names
 * this proxy as clients reach it, even behind a load balancer), else the Host the request came to.
 */
export function publicOrigin(config: JwtAuthConfig, req: IncomingMessage): string {
  try {
    const aud = new URL(config.audience);
    if (aud.protocol === 'https:' || aud.protocol === 'http:') return aud.origin;
  } catch {
    // not a URL: fall through to the request's own Host
  }
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded) === 'https' ? 'https' : 'http';
  return `${proto}://${req.headers.host ?? 'localhost'}`;
}

/** The `resource_metadata` URL of the `WWW-Authenticate` challenge (RFC 9728, section 5.1). */
export function metadataUrl(config: JwtAuthConfig, req: IncomingMessage): string {
  return `${publicOrigin(config, req)}${WELL_KNOWN_PATH}`;
}

/**
 * The RFC 9728 protected resource metadata document: which resource this is (the audience tokens
 * must carry) and which authorization server issues them.
 */
export function protectedResourceMetadata(
  config: JwtAuthConfig,
  req: IncomingMessage,
  mcpPath: string,
): Record<string, unknown> {
  let resource = config.audience;
  try {
    new URL(resource);
  } catch {
    resource = `${publicOrigin(config, req)}${mcpPath}`;
  }
  return {
    resource,
    authorization_servers: [config.issuer],
    bearer_methods_supported: ['header'],
    resource_name: 'mcp-fed',
  };
}
