import type { Caller } from '../../hooks/pipeline.ts';
import type { ActingFor } from '../../upstream/auth/types.ts';

/**
 * The inbound bearer token behind a JWT caller, kept beside the Caller object rather than in it: a
 * Caller is shown to hooks, Cedar and the audit log, and the token must reach none of them. Only the
 * per-caller upstream adapters read it (tokenExchange's subject token). Callers are cached per token
 * (inbound/auth/jwt.ts), so this holds one entry per live token and forgets it with the Caller.
 */
const acting = new WeakMap<Caller, ActingFor>();

/** Remembers the token `caller` presented (a verified JWT, `exp` in seconds). */
export function rememberCallerToken(caller: Caller, token: string, exp: number | undefined): void {
  acting.set(caller, { callerId: caller.id, token, expiresAt: exp === undefined ? undefined : exp * 1000 });
}

/** Who a call goes upstream for: the caller, with its token when it presented a JWT. */
export function actingFor(caller: Caller): ActingFor {
  let who = acting.get(caller);
  if (!who) {
    who = { callerId: caller.id };
    acting.set(caller, who);
  }
  return who;
}
