import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Caller } from '../hooks/pipeline.ts';

/** The assertion's HTTP header, for HTTP upstreams. */
export const CALLER_HEADER = 'x-mcp-fed-caller';
/** The same assertion in `params._meta`, for stdio upstreams (no headers). */
export const CALLER_META_KEY = 'mcp-fed/caller';
/** Lifetime of an assertion: it covers one forwarded request, so a minute is plenty. */
export const ASSERTION_TTL_SECONDS = 60;
/** Tolerated clock difference between the proxies of one fleet. */
export const ASSERTION_SKEW_SECONDS = 5;

const SALT = Buffer.from('mcp-fed/caller-assertion/v1');
// The one header this module signs and accepts: pinning it byte for byte rules out alg confusion ("none", RS/HS).
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const HEADER_DOT = `${HEADER}.`;
const MAX_TOKEN_CHARS = 4096;
const MAX_ID_CHARS = 256;
const MAX_GROUPS = 256;

export type Verified = { ok: true; caller: Caller } | { ok: false; description: string };

/** The HS256 key of caller assertions, derived from `secrets.assertionKey` (HKDF, its own salt and use). */
export function assertionKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), SALT, 'hs256', 32));
}

/**
 * Caller assertions (`chain.assertCaller`, DESIGN.md "Correlation and chaining"): a compact JWS (HS256)
 * `{sub, grp, rid, iat, exp}` telling the next proxy who the original caller is. The key is shared
 * within one's proxy fleet (`secrets.assertionKey`); `rid` binds the token to one request id, so a
 * captured assertion is worth nothing for any other request, and it expires after a minute.
 *
 * Signed and checked with node:crypto directly, synchronously: one HMAC (a few microseconds) and no
 * promise on the call path. The format is a plain JWT, so `jose` (or any JWT library) reads it too.
 */
export class CallerAssertions {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = assertionKey(secret);
  }

  sign(caller: Caller, requestId: string, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const payload: Record<string, unknown> = { sub: caller.id };
    if (caller.groups.length > 0) payload.grp = caller.groups;
    payload.rid = requestId;
    payload.iat = iat;
    payload.exp = iat + ASSERTION_TTL_SECONDS;
    const signingInput = HEADER_DOT + Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${signingInput}.${this.mac(signingInput).toString('base64url')}`;
  }

  /**
   * The caller `token` asserts, when its signature, lifetime and request binding hold. The description
   * of a failure names what was wrong, never the token.
   */
  verify(token: string, requestId: string | undefined, now = Date.now()): Verified {
    if (token.length > MAX_TOKEN_CHARS || !token.startsWith(HEADER_DOT))
      return fail('it is not an mcp-fed caller assertion (HS256 JWT)');
    const dot = token.indexOf('.', HEADER_DOT.length);
    if (dot === -1 || token.indexOf('.', dot + 1) !== -1) return fail('it is malformed');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.mac(token.slice(0, dot));
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected))
      return fail('its signature is not valid (is secrets.assertionKey the same on both proxies?)');
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(token.slice(HEADER_DOT.length, dot), 'base64url').toString('utf8'));
    } catch {
      return fail('its claims are not JSON');
    }
    const { sub, grp, rid, iat, exp } = claims ?? {};
    if (typeof sub !== 'string' || sub === '' || sub.length > MAX_ID_CHARS) return fail('it names no caller');
    if (
      grp !== undefined &&
      !(Array.isArray(grp) && grp.length <= MAX_GROUPS && grp.every((g) => typeof g === 'string' && g !== ''))
    )
      return fail('its groups are not a list of names');
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > ASSERTION_TTL_SECONDS || exp < iat)
      return fail(`its lifetime is not valid (at most ${ASSERTION_TTL_SECONDS} s)`);
    const seconds = now / 1000;
    if (exp + ASSERTION_SKEW_SECONDS <= seconds) return fail('it has expired');
    if (iat - ASSERTION_SKEW_SECONDS > seconds) return fail('it was issued in the future (clock skew?)');
    if (typeof rid !== 'string' || rid !== requestId)
      return fail('it was issued for another request (x-request-id does not match)');
    return { ok: true, caller: { id: sub, groups: Object.freeze([...((grp as string[]) ?? [])]) } };
  }

  private mac(signingInput: string): Buffer {
    return createHmac('sha256', this.key).update(signingInput).digest();
  }
}

const fail = (why: string): Verified => ({
  ok: false,
  description: `the caller assertion is rejected: ${why}`,
});
