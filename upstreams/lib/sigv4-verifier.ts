import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import aws4 from 'aws4';

export interface KnownCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary credentials: the request must carry (and sign) this x-amz-security-token. */
  sessionToken?: string;
}

export interface SigV4VerifierOptions {
  region: string;
  service: string;
  /** The credentials the server accepts, by access key id. */
  lookup(accessKeyId: string): KnownCredentials | undefined;
  /** The server's clock (tests move it to make a signature stale). */
  now?: () => number;
  /** Largest accepted distance between x-amz-date and the clock (AWS: 5 minutes). */
  maxSkewMs?: number;
}

export interface SignedRequest {
  method: string;
  /** The raw request target as received: path and query, percent-encoding untouched. */
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Verdict =
  | { ok: true; accessKeyId: string }
  /** `canonical`: what the server computed, quoted back on a mismatch the way AWS does. */
  | { ok: false; reason: string; canonical?: string };

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Verifies an AWS SigV4 header signature the way an AWS front door does, with an implementation
 * independent of the proxy's signer (`aws4`, not `@smithy/signature-v4`): the signature is recomputed
 * from the request as received (raw path, the signed headers' received values, the body bytes) and
 * the server's own region, service and credentials; the scope, date and session token are checked too.
 */
export function verifySigV4(req: SignedRequest, opts: SigV4VerifierOptions): Verdict {
  const header = one(req.headers.authorization);
  const m = header ? AUTH.exec(header) : null;
  if (!m) return deny('missing or malformed SigV4 Authorization header');
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = m as unknown as string[];
  if (region !== opts.region)
    return deny(`credential scope names region "${region}", expected "${opts.region}"`);
  if (service !== opts.service) return deny(`credential scope names service "${service}"`);

  const amzDate = one(req.headers['x-amz-date']);
  const d = amzDate ? AMZ_DATE.exec(amzDate) : null;
  if (!d) return deny('missing or malformed x-amz-date');
  const signedAt = Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!);
  const now = (opts.now ?? Date.now)();
  if (Math.abs(now - signedAt) > (opts.maxSkewMs ?? 5 * 60_000))
    return deny('signature expired (x-amz-date too far from now)');
  if (amzDate!.slice(0, 8) !== scopeDate) return deny('credential scope date differs from x-amz-date');

  const creds = opts.lookup(accessKeyId!);
  if (!creds) return deny('unknown access key');
  const signed = signedList!.split(';');
  for (const required of ['host', 'x-amz-date'])
    if (!signed.includes(required)) return deny(`${required} is not signed`);
  const token = one(req.headers['x-amz-security-token']);
  if (creds.sessionToken !== undefined) {
    if (token !== creds.sessionToken) return deny('missing or wrong session token');
    if (!signed.includes('x-amz-security-token')) return deny('the session token is not signed');
  } else if (token !== undefined) return deny('a session token was sent with long-term credentials');
  const contentHash = one(req.headers['x-amz-content-sha256']);
  if (contentHash !== undefined && contentHash !== createHash('sha256').update(req.body).digest('hex'))
    return deny('x-amz-content-sha256 does not match the body');

  // Only the headers the client signed take part, with the values this server received.
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = one(req.headers[name]);
    if (value === undefined) return deny(`signed header ${name} is missing`);
    headers[name] = value;
  }
  const ignore: Record<string, boolean> = {};
  for (const name of ['content-type', 'content-length']) if (!signed.includes(name)) ignore[name] = true;
  const signer = new aws4.RequestSigner(
    {
      method: req.method,
      host: headers.host,
      path: req.target,
      service,
      region,
      headers,
      body: req.body,
      extraHeadersToIgnore: ignore,
    } as aws4.Request,
    {
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
    },
  );
  const expected = signer.sign();
  const computed = /Signature=([0-9a-f]{64})$/.exec(String(expected.headers?.Authorization ?? ''))?.[1] ?? '';
  const computedList = /SignedHeaders=([^,]+),/.exec(String(expected.headers?.Authorization ?? ''))?.[1];
  if (computedList !== signedList) return deny('signed header list does not match the request');
  if (computed.length !== 64 || !timingSafeEqual(Buffer.from(computed), Buffer.from(signature!)))
    return { ok: false, reason: 'signature does not match', canonical: signer.canonicalString() };
  return { ok: true, accessKeyId: accessKeyId! };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

function deny(reason: string): Verdict {
  return { ok: false, reason };
}
