/**
 * The benchmark's RFC 8693 authorization server (the tokenExchange row): token exchange and client
 * credentials at `/token`, its JWKS at `/jwks`. The subject token is verified against the bench
 * issuer's JWKS; issued tokens are RS256 JWTs for the `resource` asked (`sub` the user, or the client
 * for client credentials), which the protected upstream verifies like any issuer's. Run in the bench
 * process: with a warm cache the proxy calls it once per caller, so its CPU is no part of a call.
 * (The tests use a full oidc-provider instead: test/helpers/authorization-server.ts.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';

export interface ExchangeServer {
  url: string;
  tokenUrl: string;
  /** Token requests served, by grant. */
  counts: { exchange: number; clientCredentials: number };
  close(): Promise<void>;
}

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

export async function startExchangeServer(opts: {
  subjectIssuer: string;
  subjectJwksUri: string;
  clientId: string;
  clientSecret: string;
  scope: string;
}): Promise<ExchangeServer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'tx', alg: 'RS256', use: 'sig' }],
  });
  const subjects = createRemoteJWKSet(new URL(opts.subjectJwksUri));
  const counts = { exchange: 0, clientCredentials: 0 };
  // RFC 6749 2.3.1: the id and secret are form-urlencoded inside the Basic credentials.
  const formDecode = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
  const authenticated = (header: string | undefined) => {
    const m = /^Basic (\S+)$/.exec(header ?? '');
    const [id, secret] = Buffer.from(m?.[1] ?? '', 'base64')
      .toString('utf8')
      .split(':');
    return (
      id !== undefined &&
      secret !== undefined &&
      formDecode(id) === opts.clientId &&
      formDecode(secret) === opts.clientSecret
    );
  };
  let base = '';
  const issue = (sub: string, aud: string) =>
    new SignJWT({ scope: opts.scope, client_id: opts.clientId })
      .setProtectedHeader({ alg: 'RS256', kid: 'tx' })
      .setIssuer(base)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
  const answer = (res: http.ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/jwks')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    if (req.method !== 'POST' || req.url !== '/token') return void answer(res, 404, { error: 'not_found' });
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', async () => {
      if (!authenticated(req.headers.authorization)) return answer(res, 401, { error: 'invalid_client' });
      const form = new URLSearchParams(text);
      const resource = form.get('resource') ?? form.get('audience') ?? '';
      try {
        let sub = opts.clientId;
        if (form.get('grant_type') === EXCHANGE) {
          const { payload } = await jwtVerify(form.get('subject_token') ?? '', subjects, {
            issuer: opts.subjectIssuer,
          });
          sub = String(payload.sub);
          counts.exchange++;
        } else if (form.get('grant_type') === 'client_credentials') counts.clientCredentials++;
        else return answer(res, 400, { error: 'unsupported_grant_type' });
        answer(res, 200, {
          access_token: await issue(sub, resource),
          token_type: 'Bearer',
          expires_in: 3600,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          scope: opts.scope,
        });
      } catch {
        answer(res, 400, { error: 'invalid_grant' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    tokenUrl: `${base}/token`,
    counts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
