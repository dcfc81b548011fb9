import type { ChainConfig } from '../config/schema.ts';
import type { CallContext } from '../hooks/pipeline.ts';
import { CallerAssertions } from './caller-assertion.ts';

/**
 * The sending side of `chain.assertCaller`: stamps a call's context with an assertion of its caller,
 * bound to its request id, when the call goes to an upstream the config names (`true`: every one).
 * The hop then carries it as `x-mcp-fed-caller` and `_meta["mcp-fed/caller"]` (upstream/correlation.ts,
 * router/meta.ts). Lists and discovery carry none: the catalog is loaded with this proxy's own identity.
 */
export class OutboundAssertions {
  private constructor(
    private readonly assertions: CallerAssertions,
    /** Undefined: every upstream. */
    private readonly only: ReadonlySet<string> | undefined,
  ) {}

  /** Undefined when assertions are off (or, for a config `check` refused, have no key). */
  static create(chain: ChainConfig, secret: string | undefined): OutboundAssertions | undefined {
    if (chain.assertCaller === false || !secret) return undefined;
    const only = chain.assertCaller === true ? undefined : new Set(chain.assertCaller);
    return new OutboundAssertions(new CallerAssertions(secret), only);
  }

  stamp(ctx: CallContext, upstream: string): void {
    ctx.callerAssertion =
      this.only && !this.only.has(upstream) ? undefined : this.assertions.sign(ctx.caller, ctx.requestId);
  }
}
