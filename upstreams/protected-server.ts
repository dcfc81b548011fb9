/**
 * Sample upstream "tools" behind an auth check, for the lab, the tests and the benchmark: the same
 * tools as tools-server (both protocol eras on one Streamable HTTP path), reachable only with
 *   --auth sigv4   an AWS SigV4 signature, recomputed here with the independent `aws4` package
 *                  (403 on any mismatch, as AWS answers). Accepted credentials: AWS_ACCESS_KEY_ID /
 *                  AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN] of this process and --credentials FILE
 *                  (a JSON list of {accessKeyId, secretAccessKey, sessionToken?}).
 *                  --region (default AWS_REGION, else us-east-1) --service (default bedrock-agentcore)
 *   --auth oauth   a bearer JWT verified with `jose` against --issuer's JWKS (--jwks-uri, default
 *                  <issuer>/jwks); optional --audience and --scope (space-separated, all required).
 *   --auth none    no check at all: the same server as an unauthenticated reference (benchmark).
 * Common: --port N (0 = random) --host H --path P (e.g. an AgentCore Runtime invocation path with
 * its percent-encoded ARN) --name NAME --control (test hooks under /_control: stats, credentials,
 * clock offset, token revocation; never enable it outside a test or the lab).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { GuardReply, RequestGuard } from './lib/auth-guard.ts';
import { intFlag, logErr, parseCli } from './lib/cli.ts';
import { JwtVerifier } from './lib/jwt-verifier.ts';
import { runMain } from './lib/serve.ts';
import { type KnownCredentials, verifySigV4 } from './lib/sigv4-verifier.ts';
import { createToolsServerFactory } from './lib/tools-server-factory.ts';

const flags = parseCli({
  auth: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  path: { type: 'string' },
  name: { type: 'string' },
  control: { type: 'boolean' },
  region: { type: 'string' },
  service: { type: 'string' },
  credentials: { type: 'string' },
  'max-skew-ms': { type: 'string' },
  issuer: { type: 'string' },
  'jwks-uri': { type: 'string' },
  audience: { type: 'string' },
  scope: { type: 'string' },
});

const stats = {
  accepted: 0,
  rejected: 0,
  byMethod: {} as Record<string, number>,
  /** sigv4: accepted requests per access key id (ids are not secret). */
  byKey: {} as Record<string, number>,
  reasons: {} as Record<string, number>,
  distinctTokens: 0,
};
let clockOffsetMs = 0;
const now = () => Date.now() + clockOffsetMs;

const deny = (status: number, reason: string, headers: Record<string, string> = {}): GuardReply => {
  stats.rejected++;
  stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
  return { status, headers, body: { message: reason } };
};
const accept = (method: string, key?: string): undefined => {
  stats.accepted++;
  stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
  if (key !== undefined) stats.byKey[key] = (stats.byKey[key] ?? 0) + 1;
  return undefined;
};

type Check = (req: IncomingMessage, body: Buffer) => GuardReply | undefined | Promise<GuardReply | undefined>;
type Control = (path: string, body: unknown) => unknown;

function sigv4Check(): { check: Check; control: Control } {
  const region = flags.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const service = flags.service ?? 'bedrock-agentcore';
  const maxSkewMs = intFlag(flags['max-skew-ms'], 'max-skew-ms', 5 * 60_000);
  let known = new Map<string, KnownCredentials>();
  const add = (c: KnownCredentials) => known.set(c.accessKeyId, c);
  const env = process.env;
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
    add({
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }),
    });
  if (flags.credentials)
    for (const c of JSON.parse(readFileSync(flags.credentials, 'utf8')) as KnownCredentials[]) add(c);
  const check: Check = (req, body) => {
    const verdict = verifySigV4(
      { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body },
      { region, service, lookup: (id) => known.get(id), now, maxSkewMs },
    );
    if (verdict.ok) return accept(req.method ?? 'GET', verdict.accessKeyId);
    // Like AWS's SignatureDoesNotMatch, the refusal quotes the canonical request (header values and all).
    const reply = deny(403, verdict.reason, { 'x-amzn-errortype': 'InvalidSignatureException' });
    if (verdict.canonical)
      reply.body = {
        message: `${verdict.reason}. The Canonical String for this request should have been '${verdict.canonical}'`,
      };
    return reply;
  };
  const control: Control = (path, body) => {
    if (path === '/_control/credentials') {
      known = new Map();
      for (const c of body as KnownCredentials[]) add(c);
      return { credentials: known.size };
    }
    return undefined;
  };
  return { check, control };
}

function oauthCheck(): { check: Check; control: Control } {
  if (!flags.issuer) throw new Error('--auth oauth needs --issuer');
  const verifier = new JwtVerifier({
    issuer: flags.issuer,
    jwksUri: flags['jwks-uri'] ?? `${flags.issuer.replace(/\/$/, '')}/jwks`,
    audience: flags.audience,
    scopes: flags.scope?.split(' ').filter(Boolean),
  });
  const check: Check = async (req) => {
    const verdict = await verifier.verify(req.headers.authorization);
    stats.distinctTokens = verifier.distinctTokens;
    if (verdict.ok) return accept(req.method ?? 'GET');
    const error = verdict.status === 403 ? 'insufficient_scope' : 'invalid_token';
    return deny(verdict.status, verdict.reason, { 'www-authenticate': `Bearer error="${error}"` });
  };
  const control: Control = (path) =>
    path === '/_control/revoke' ? { revoked: verifier.revokeAll() } : undefined;
  return { check, control };
}

// `none` is the same server with the check left out: the benchmark's unauthenticated reference.
const noCheck = {
  check: ((req) => accept(req.method ?? 'GET')) as Check,
  control: (() => undefined) as Control,
};
const mode =
  flags.auth === 'sigv4'
    ? sigv4Check()
    : flags.auth === 'oauth'
      ? oauthCheck()
      : flags.auth === 'none'
        ? noCheck
        : undefined;
if (!mode) {
  logErr('protected-server: --auth sigv4 | oauth | none is required');
  process.exit(2);
}

const guard: RequestGuard = (req, body) => {
  const path = (req.url ?? '/').split('?')[0]!;
  if (path.startsWith('/_control/')) {
    if (!flags.control) return { status: 404 };
    const input = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
    if (path === '/_control/stats') return { status: 200, body: stats };
    if (path === '/_control/clock') {
      clockOffsetMs = Number((input as { offsetMs?: number })?.offsetMs ?? 0);
      return { status: 200, body: { offsetMs: clockOffsetMs } };
    }
    const result = mode.control(path, input);
    return result === undefined ? { status: 404 } : { status: 200, body: result };
  }
  return mode.check(req, body);
};

const { factory, fanout } = createToolsServerFactory({ name: flags.name ?? `tools-${flags.auth}` });
try {
  await runMain(factory, fanout, {
    stdio: false,
    host: flags.host ?? '127.0.0.1',
    port: intFlag(flags.port, 'port', 0),
    path: flags.path ?? '/mcp',
    guard,
  });
} catch (error) {
  logErr('protected-server failed to start:', error);
  process.exit(1);
}
