/**
 * The part of `oidc-provider` 9.13.x that test/helpers/authorization-server.ts uses: the package ships no
 * types and `@types/oidc-provider` stops at 9.12 (and would bring `@types/koa` along). Shapes follow
 * lib/provider.js, lib/models/*.js and lib/helpers/errors.js of 9.13.3.
 */
declare module 'oidc-provider' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  /** Configuration is checked by the provider itself at construction; callbacks are typed where written. */
  export type Configuration = Record<string, unknown>;

  export interface Client {
    readonly clientId: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface OIDCContext {
    /** Only the parameters registered for the grant type (and client authentication) survive. */
    readonly params?: Record<string, unknown>;
    readonly client?: Client;
    entity(name: string, value: unknown): void;
  }

  /** The Koa context a grant type handler or a configuration callback is given. */
  export interface KoaContextWithOIDC {
    oidc: OIDCContext;
    body: unknown;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
  }

  export class ResourceServer {
    constructor(identifier: string, info: ResourceServerInfo);
    readonly scope: string;
    readonly accessTokenTTL?: number;
    identifier(): string;
  }

  export interface Grant {
    readonly jti: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface AccessToken {
    resourceServer?: ResourceServer;
    scope?: string;
    gty?: string;
    readonly clientId: string;
    /** Seconds from now, from `ttl.AccessToken`. */
    readonly expiration: number;
    readonly tokenType: string;
    save(): Promise<string>;
  }

  export interface Interaction {
    readonly uid: string;
    readonly prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    readonly params: Record<string, unknown>;
    readonly session?: { accountId: string };
    readonly grantId?: string;
  }

  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** Koa's request listener. */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    registerGrantType(
      name: string,
      handler: (ctx: KoaContextWithOIDC) => Promise<void>,
      params?: string | string[] | Set<string>,
      dupes?: string | string[] | Set<string>,
    ): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): Grant;
      find(id: string): Promise<Grant | undefined>;
    };
    readonly AccessToken: new (init: {
      accountId: string;
      client: Client;
      grantId?: string;
      gty?: string;
      scope?: string;
    }) => AccessToken;
    readonly ResourceServer: typeof ResourceServer;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      readonly error: string;
      error_description?: string;
      readonly status: number;
    }
    /** Any `error` code with the given `error_description`, HTTP 400. */
    class CustomOIDCProviderError extends OIDCProviderError {
      constructor(error: string, description?: string);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string, status?: number);
    }
  }

  export default Provider;
}
