import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundAuthConfig } from '../../config/schema.ts';
import { JSONRPC } from '../../errors.ts';
import { sendJsonRpcError } from '../http-replies.ts';
import { apiKeyAuth } from './api-keys.ts';
import { AssertedCallers } from './asserted-caller.ts';
import { type JwtAuthConfig, jwtAuth } from './jwt.ts';
import { noAuth } from './none.ts';
import { metadataUrl, protectedResourceMetadata, WELL_KNOWN_PATH } from './protected-resource.ts';
import type { Authenticator, AuthOutcome } from './types.ts';

export type { Authenticator, AuthOutcome } from './types.ts';

/**
 * Inbound auth for the HTTP server: who the caller is (before the MCP endpoint sees the request),
 * the 401/503 answer when that cannot be established, and the RFC 9728 metadata route for jwt.
 */
export class InboundAuth {
  readonly authenticator: Authenticator;
  /** Undefined with `kind: none`: no caller can be trusted, so an assertion is ignored (the caller stays anonymous). */
  private readonly asserted: AssertedCallers | undefined;

  constructor(
    private readonly config: InboundAuthConfig,
    private readonly mcpPath: string,
    /** `secrets.assertionKey`: verifies the caller assertions of `trustedProxies`. */
    assertionKey?: string,
  ) {
    this.authenticator =
      config.kind === 'jwt' ? jwtAuth(config) : config.kind === 'apiKeys' ? apiKeyAuth(config) : noAuth;
    this.asserted =
      config.kind === 'none' ? undefined : AssertedCallers.create(config.trustedProxies, assertionKey);
  }

  /** The caller of a request: the authenticated one, or the one a trusted proxy asserts (`chain.assertCaller`). */
  authenticate(req: IncomingMessage): AuthOutcome | Promise<AuthOutcome> {
    const outcome = this.authenticator.authenticate(req);
    const asserted = this.asserted;
    if (!asserted || !AssertedCallers.present(req)) return outcome;
    return outcome instanceof Promise
      ? outcome.then((o) => asserted.apply(req, o))
      : asserted.apply(req, outcome);
  }

  /** Answers a request whose credentials were missing, bad or uncheckable. Never echoes the credential. */
  reject(req: IncomingMessage, res: ServerResponse, outcome: Extract<AuthOutcome, { ok: false }>): void {
    if (outcome.reason === 'unavailable') {
      sendJsonRpcError(
        res,
        503,
        null,
        JSONRPC.INTERNAL_ERROR,
        `Service Unavailable: ${outcome.description}`,
        undefined,
        {
          'retry-after': '5',
        },
      );
      return;
    }
    if (outcome.reason === 'forbidden') {
      sendJsonRpcError(res, 403, null, JSONRPC.INVALID_REQUEST, `Forbidden: ${outcome.description}`);
      return;
    }
    const params = [`realm="mcp-fed"`];
    if (this.config.kind === 'jwt') params.push(`resource_metadata="${metadataUrl(this.config, req)}"`);
    if (outcome.reason === 'invalid')
      params.push('error="invalid_token"', `error_description="${outcome.description.replace(/"/g, "'")}"`);
    sendJsonRpcError(
      res,
      401,
      null,
      JSONRPC.INVALID_REQUEST,
      `Unauthorized: ${outcome.description}`,
      undefined,
      {
        'www-authenticate': `Bearer ${params.join(', ')}`,
      },
    );
  }

  /**
   * Serves `GET /.well-known/oauth-protected-resource` (and the path-suffixed form RFC 9728 section 3.1
   * derives from the MCP path) when inbound auth is jwt; false for any other request.
   */
  serveMetadata(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (this.config.kind !== 'jwt') return false;
    if (path !== WELL_KNOWN_PATH && path !== `${WELL_KNOWN_PATH}${this.mcpPath}`) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    const body = JSON.stringify(protectedResourceMetadata(this.config as JwtAuthConfig, req, this.mcpPath));
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'public, max-age=3600',
      'access-control-allow-origin': '*',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
