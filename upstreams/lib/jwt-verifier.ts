import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';

export interface JwtVerifierOptions {
  issuer: string;
  jwksUri: string;
  /** Expected `aud` (an `audience` or `resource` the proxy asked for); unchecked when absent. */
  audience?: string;
  /** Every one of these scopes must be granted. */
  scopes?: string[];
}

export type JwtVerdict = { ok: true; payload: JWTPayload } | { ok: false; reason: string; status: 401 | 403 };

/**
 * A resource server's bearer check: the JWT's signature against the issuer's JWKS (fetched and cached
 * by jose), issuer, expiry, audience and scopes; plus a revocation list, so tests can revoke a token
 * the way an introspecting resource server would see it.
 */
export class JwtVerifier {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  private readonly revoked = new Set<string>();
  private readonly seen = new Set<string>();
  /** Tokens already verified, until their `exp`: a resource server does not re-check RS256 per call. */
  private readonly verified = new Map<string, { payload: JWTPayload; expMs: number }>();

  constructor(private readonly opts: JwtVerifierOptions) {
    this.jwks = createRemoteJWKSet(new URL(opts.jwksUri), { cooldownDuration: 0 });
  }

  async verify(authorization: string | undefined): Promise<JwtVerdict> {
    const m = authorization ? /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(authorization) : null;
    if (!m) return { ok: false, status: 401, reason: 'missing bearer token' };
    const token = m[1]!;
    if (this.revoked.has(token)) return { ok: false, status: 401, reason: 'token revoked' };
    const known = this.verified.get(token);
    if (known && Date.now() < known.expMs) return { ok: true, payload: known.payload };
    if (known) this.verified.delete(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.opts.issuer,
        ...(this.opts.audience !== undefined && { audience: this.opts.audience }),
      }));
    } catch (err) {
      return {
        ok: false,
        status: 401,
        reason: `invalid token (${(err as { code?: string }).code ?? 'error'})`,
      };
    }
    const granted = new Set(String(payload.scope ?? '').split(' '));
    const missing = (this.opts.scopes ?? []).filter((s) => !granted.has(s));
    if (missing.length > 0) return { ok: false, status: 403, reason: `missing scope ${missing.join(' ')}` };
    this.seen.add(token);
    if (typeof payload.exp === 'number') this.verified.set(token, { payload, expMs: payload.exp * 1000 });
    return { ok: true, payload };
  }

  /** Revokes every token accepted so far; returns how many. */
  revokeAll(): number {
    for (const t of this.seen) {
      this.revoked.add(t);
      this.verified.delete(t);
    }
    const n = this.seen.size;
    this.seen.clear();
    return n;
  }

  get distinctTokens(): number {
    return this.seen.size + this.revoked.size;
  }
}
