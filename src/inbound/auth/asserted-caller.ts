import type { IncomingMessage } from 'node:http';
import { CALLER_HEADER, CallerAssertions } from '../../chain/caller-assertion.ts';
import type { Caller } from '../../hooks/pipeline.ts';
import type { AuthOutcome } from './types.ts';

/**
 * The receiving side of `chain.assertCaller`: a request that carries an `x-mcp-fed-caller` assertion is
 * served as the caller it asserts only when the directly authenticated caller is one of
 * `inbound.auth.trustedProxies` (a caller id, or `group:<name>`) and the assertion verifies (signature,
 * expiry, bound to this request's `x-request-id`). Everything else fails closed with 403: an untrusted
 * caller that sends an assertion is trying something, and a trusted proxy that sends a bad one is
 * misconfigured; serving either as the direct caller would hide it.
 */
export class AssertedCallers {
  private readonly ids = new Set<string>();
  private readonly groups = new Set<string>();

  constructor(
    trustedProxies: readonly string[],
    private readonly assertions: CallerAssertions | undefined,
  ) {
    for (const t of trustedProxies) {
      if (t.startsWith('group:')) this.groups.add(t.slice(6));
      else this.ids.add(t);
    }
  }

  static create(trustedProxies: readonly string[] = [], secret?: string): AssertedCallers {
    const assertions = trustedProxies.length > 0 && secret ? new CallerAssertions(secret) : undefined;
    return new AssertedCallers(trustedProxies, assertions);
  }

  /** Whether the request carries an assertion at all (one header lookup: the common case ends here). */
  static present(req: IncomingMessage): boolean {
    return req.headers[CALLER_HEADER] !== undefined;
  }

  /** The outcome of inbound auth with the asserted caller in place of the direct one, or a 403. */
  apply(req: IncomingMessage, outcome: AuthOutcome): AuthOutcome {
    if (!outcome.ok) return outcome;
    const direct = outcome.caller;
    if (!this.assertions || !this.trusts(direct))
      return forbidden(
        `caller "${direct.id}" sent a caller assertion but is not a trusted proxy (inbound.auth.trustedProxies)`,
      );
    const token = req.headers[CALLER_HEADER];
    const requestId = req.headers['x-request-id'];
    const verified = this.assertions.verify(
      typeof token === 'string' ? token.trim() : '',
      typeof requestId === 'string' ? requestId : undefined,
    );
    return verified.ok
      ? { ok: true, caller: { ...verified.caller, kind: 'asserted' } }
      : forbidden(verified.description);
  }

  private trusts(caller: Caller): boolean {
    if (this.ids.has(caller.id)) return true;
    for (const g of caller.groups) if (this.groups.has(g)) return true;
    return false;
  }
}

const forbidden = (description: string): AuthOutcome => ({ ok: false, reason: 'forbidden', description });
