import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

export interface AuthServerOptions {
  host?: string;
  port?: number;
  /** Registered confidential clients: client id → secret. */
  clients: Record<string, string>;
  /** Lifetime of issued access tokens (default 3600 s). */
  tokenTtlSeconds?: number;
  /**
   * The issuer URL as its clients reach it (`iss` of the tokens and the discovery document); default
   * http://<host>:<port>. Needed where that is not the bind address, as in a container network.
   */
  issuerUrl?: string;
}

export interface TokenRequestRecord {
  clientId: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
  scope?: string;
  audience?: string;
  resource?: string;
}

/**
 * A local OAuth 2.0 authorization server for tests and the lab: `oauth2-mock-server` (discovery, JWKS,
 * RS256 JWT access tokens) plus what that mock leaves out and a real server does: client
 * authentication (basic or post) against registered secrets, `audience` / `resource` into `aud`, a
 * unique `jti` per token, and a configurable token lifetime. It counts token requests.
 */
export class AuthServer {
  readonly requests: TokenRequestRecord[] = [];
  rejected = 0;
  tokenTtlSeconds: number;
  private readonly server = new OAuth2Server();
  private port = 0;
  private url = '';

  private constructor(private readonly opts: AuthServerOptions) {
    this.tokenTtlSeconds = opts.tokenTtlSeconds ?? 3600;
    const service = this.server.service;
    service.on('beforeTokenSigning', (token, req: IncomingMessage & { body: Record<string, unknown> }) => {
      token.payload.jti = randomUUID();
      // Rounded up, so the token never dies before the `expires_in` the client is told.
      token.payload.exp = Math.ceil(Date.now() / 1000) + this.tokenTtlSeconds;
      const client = clientOf(req);
      if (client) token.payload.client_id = client.id;
      const aud = str(req.body.audience) ?? str(req.body.resource);
      if (aud !== undefined) token.payload.aud = aud;
    });
    service.on('beforeResponse', (response, req: IncomingMessage & { body: Record<string, unknown> }) => {
      if (req.body.grant_type !== 'client_credentials') return;
      const client = clientOf(req);
      if (
        !client ||
        this.opts.clients[client.id] === undefined ||
        this.opts.clients[client.id] !== client.secret
      ) {
        this.rejected++;
        response.statusCode = 401;
        response.body = { error: 'invalid_client' };
        return;
      }
      this.requests.push({
        clientId: client.id,
        authMethod: client.method,
        scope: str(req.body.scope),
        audience: str(req.body.audience),
        resource: str(req.body.resource),
      });
      if (typeof response.body === 'object') response.body.expires_in = this.tokenTtlSeconds;
    });
  }

  static async start(opts: AuthServerOptions): Promise<AuthServer> {
    const s = new AuthServer(opts);
    await s.server.issuer.keys.generate('RS256');
    if (opts.issuerUrl !== undefined) s.server.issuer.url = opts.issuerUrl.replace(/\/$/, '');
    await s.server.start(opts.port ?? 0, opts.host ?? '127.0.0.1');
    s.port = s.server.address().port;
    s.url = s.server.issuer.url!;
    return s;
  }

  get issuer(): string {
    return this.url;
  }

  get tokenUrl(): string {
    return `${this.issuer}/token`;
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  get tokenRequests(): number {
    return this.requests.length;
  }

  get listening(): boolean {
    return this.server.listening;
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.server.stop();
  }

  /** Starts again on the same port with the same signing key (an authorization server back from an outage). */
  async restart(): Promise<void> {
    if (this.server.listening) return;
    this.server.issuer.url = this.url;
    await this.server.start(this.port, this.opts.host ?? '127.0.0.1');
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

// RFC 6749 2.3.1: client id and secret are form-urlencoded before they go into Basic credentials.
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));

function clientOf(
  req: IncomingMessage & { body: Record<string, unknown> },
): { id: string; secret: string; method: TokenRequestRecord['authMethod'] } | undefined {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    return {
      id: formDecode(decoded.slice(0, i)),
      secret: formDecode(decoded.slice(i + 1)),
      method: 'client_secret_basic',
    };
  }
  const id = str(req.body.client_id);
  const secret = str(req.body.client_secret);
  return id && secret ? { id, secret, method: 'client_secret_post' } : undefined;
}
