import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { InboundAuthConfig } from '../../config/schema.ts';
import type { Caller } from '../../hooks/pipeline.ts';
import { rememberCallerToken } from './caller-tokens.ts';
import { bearerToken } from './credentials.ts';
import type { Authenticator, AuthOutcome } from './types.ts';

export type JwtAuthConfig = Extract<InboundAuthConfig, { kind: 'jwt' }>;

/** Tolerated clock difference with the issuer for `exp` and `nbf`. */
export const CLOCK_SKEW_SECONDS = 30;
/** A verified token is trusted from memory at most this long (and never past its `exp`). */
const VERIFIED_TTL_MS = 60_000;

/**
 * `inbound.auth: jwt`: the bearer token's signature is checked against the issuer's JWKS (fetched
 * once, cached, re-fetched when an unknown `kid` appears), then `iss`, `aud` (must name this proxy),
 * `exp` (required) and `nbf`, with a small clock skew. Caller = `sub`, else `client_id`; groups come
 * from `groupsClaim` (a dotted path; an array, or a space- or comma-separated string).
 *
 * A verified token is remembered for up to a minute, so a client that reuses its token pays one
 * signature check per minute instead of one per call. The cache is keyed by the token itself (bounded
 * by total size): a digest per call cost more than the lookup it keys (≈ 3 µs of SHA-256 per request).
 * The tokens already sit in this process's memory as the requests that carry them.
 */
export function jwtAuth(config: JwtAuthConfig): Authenticator {
  const jwks = createRemoteJWKSet(new URL(config.jwksUri), {
    timeoutDuration: 5_000,
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  const verified = new LRUCache<string, Caller>({
    max: 10_000,
    maxSize: 16 * 1024 * 1024,
    sizeCalculation: (_caller, token) => token.length + 64,
  });
  return {
    kind: 'jwt',
    // Synchronous when the token is known: no promise, no extra tick on the hot path.
    authenticate(req: IncomingMessage): AuthOutcome | Promise<AuthOutcome> {
      const token = bearerToken(req);
      if (!token) return { ok: false, reason: 'missing', description: 'a bearer token is required' };
      const known = verified.get(token);
      if (known) return { ok: true, caller: known };
      return verify(token);
    },
  };

  async function verify(token: string): Promise<AuthOutcome> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      return failure(err);
    }
    const id = callerId(payload);
    if (!id)
      return { ok: false, reason: 'invalid', description: 'the token names no subject (sub or client_id)' };
    const caller: Caller = {
      id,
      groups: Object.freeze(groupsOf(payload, config.groupsClaim)),
      kind: 'jwt',
      claims: Object.freeze({ ...payload }),
    };
    rememberCallerToken(caller, token, payload.exp);
    const untilExp = (payload.exp ?? 0) * 1000 - Date.now();
    if (untilExp > 0) verified.set(token, caller, { ttl: Math.min(VERIFIED_TTL_MS, untilExp) });
    return { ok: true, caller };
  }
}

function callerId(payload: JWTPayload): string | undefined {
  if (typeof payload.sub === 'string' && payload.sub !== '') return payload.sub;
  const clientId = payload.client_id;
  return typeof clientId === 'string' && clientId !== '' ? clientId : undefined;
}

function groupsOf(payload: JWTPayload, claim: string): string[] {
  let value: unknown = payload;
  for (const part of claim.split('.')) {
    value =
      value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((g) => g !== '');
  return [];
}

/** Which failures are the token's fault (401) and which the proxy's (JWKS unreachable: 503). */
function failure(err: unknown): AuthOutcome {
  if (err instanceof errors.JWTExpired)
    return { ok: false, reason: 'invalid', description: 'the token has expired' };
  if (err instanceof errors.JWTClaimValidationFailed)
    return { ok: false, reason: 'invalid', description: `the token's "${err.claim}" claim is not accepted` };
  if (
    err instanceof errors.JWKSTimeout ||
    !(err instanceof errors.JOSEError) ||
    err.code === 'ERR_JOSE_GENERIC'
  )
    return {
      ok: false,
      reason: 'unavailable',
      description: "the issuer's signing keys could not be fetched",
    };
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWSSignatureVerificationFailed)
    return { ok: false, reason: 'invalid', description: 'the token signature is not valid' };
  return { ok: false, reason: 'invalid', description: 'the token is malformed or not valid' };
}
