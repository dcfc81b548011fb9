/**
 * A minimal JWT issuer for the governance-on rows (issue 5, Performance: "governance fully on (JWT,
 * …)"): an RS256 key pair, its JWKS served over HTTP from the bench process, and one access token
 * for the load client. The proxy fetches the JWKS once and verifies the token like any issuer's.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

export interface BenchIssuer {
  issuer: string;
  jwksUri: string;
  audience: string;
  /** A token for `subject`, valid for two hours. */
  token: string;
  close(): Promise<void>;
}

export async function startIssuer(subject: string): Promise<BenchIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });
  const server = http.createServer((req, res) => {
    if (req.url !== '/jwks') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const audience = 'https://mcp-fed.bench/mcp';
  const token = await new SignJWT({ groups: ['bench'] })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer(base)
    .setAudience(audience)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(privateKey);
  return {
    issuer: base,
    jwksUri: `${base}/jwks`,
    audience,
    token,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
