import { errors as joseErrors, jwtVerify, type KeyObject } from 'jose';
import { errors, type KoaContextWithOIDC, type Provider, type ResourceServerInfo } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

export const TOKEN_EXCHANGE_PARAMS = [
  'subject_token',
  'subject_token_type',
  'audience',
  'resource',
  'scope',
  'requested_token_type',
  'actor_token',
  'actor_token_type',
];

export interface TokenExchangeSetup {
  issuer: string;
  publicKey: KeyObject | CryptoKey;
  resourceInfo(resource: string): ResourceServerInfo | undefined;
  refuse: ReadonlySet<string>;
}

const invalidGrant = (description: string) =>
  new errors.CustomOIDCProviderError('invalid_grant', description);

/**
 * RFC 8693 token exchange, which oidc-provider does not ship: a subject token this server signed
 * becomes a real `AccessToken` of the provider for the same user, with the exchanging client as
 * client_id and the target resource as audience (a JWT, from the resource server's format). It hangs
 * off one Grant per user and client, so `revokeUser` covers it like the authorization-code grants.
 */
export function tokenExchangeHandler(provider: Provider, setup: TokenExchangeSetup) {
  const grants = new Map<string, string>();

  async function grantFor(accountId: string, clientId: string, resource: string, scope: string) {
    const known = grants.get(`${accountId}\0${clientId}`);
    const grant =
      (known && (await provider.Grant.find(known))) || new provider.Grant({ accountId, clientId });
    grant.addResourceScope(resource, scope);
    await grant.save();
    grants.set(`${accountId}\0${clientId}`, grant.jti);
    return grant.jti;
  }

  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params ?? {};
    const client = ctx.oidc.client;
    // The token endpoint authenticated the client before any grant handler runs; this is belt and braces.
    if (!client) throw new errors.CustomOIDCProviderError('invalid_client', 'client authentication failed');
    const subjectToken = params.subject_token;
    if (typeof subjectToken !== 'string' || !subjectToken)
      throw new errors.InvalidRequest('missing required parameter subject_token');
    const subjectType = params.subject_token_type;
    if (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== JWT_TOKEN_TYPE)
      throw new errors.InvalidRequest('unsupported subject_token_type');
    const requested = params.requested_token_type;
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE)
      throw new errors.InvalidRequest('unsupported requested_token_type');

    let sub: string;
    try {
      const { payload } = await jwtVerify(subjectToken, setup.publicKey, { issuer: setup.issuer });
      if (typeof payload.sub !== 'string') throw invalidGrant('subject token has no sub');
      sub = payload.sub;
    } catch (err) {
      if (err instanceof errors.OIDCProviderError) throw err;
      throw invalidGrant(
        err instanceof joseErrors.JWTExpired ? 'subject token is expired' : 'subject token is invalid',
      );
    }
    if (setup.refuse.has(sub)) throw invalidGrant('subject not allowed');

    const target = params.resource ?? params.audience;
    const info = typeof target === 'string' ? setup.resourceInfo(target) : undefined;
    if (typeof target !== 'string' || !info) throw new errors.InvalidTarget();

    const offered = info.scope.split(' ');
    const asked = typeof params.scope === 'string' ? params.scope.split(' ') : offered;
    const scope = asked.filter((s) => offered.includes(s)).join(' ');

    const at = new provider.AccessToken({
      accountId: sub,
      client,
      grantId: await grantFor(sub, client.clientId, target, scope),
      gty: TOKEN_EXCHANGE,
      scope: scope || undefined,
    });
    at.resourceServer = new provider.ResourceServer(target, info);
    ctx.oidc.entity('AccessToken', at);
    const accessToken = await at.save();
    ctx.body = {
      access_token: accessToken,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: at.tokenType,
      expires_in: at.expiration,
      ...(scope && { scope }),
    };
  };
}
