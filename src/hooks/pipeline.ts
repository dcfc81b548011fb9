import type { ProxyError } from '../errors.ts';

/** A hook never throws to say no: it returns what happened and the pipeline decides (agentgateway style). */
export type Outcome<T> =
  | { kind: 'pass' }
  | { kind: 'mutate'; value: T }
  | { kind: 'reject'; error: ProxyError; decision: string };

export type CallMethod = 'tools/call' | 'prompts/get' | 'resources/read';

/** Who is calling, as inbound auth established it. */
export interface Caller {
  id: string;
  groups: readonly string[];
}

/** One governed call on its way to an upstream. */
export interface McpCall {
  method: CallMethod;
  /** Public tool/prompt name or public resource URI. */
  publicName: string;
  upstream: string;
  /** Name (or URI) on the upstream. */
  upstreamName: string;
  /** Params as they will be sent upstream (name already rewritten). */
  params: Record<string, unknown>;
}

/** Per-request facts every hook and the audit record share. */
export interface CallContext {
  requestId: string;
  caller: Caller;
  era: 'modern' | 'legacy';
  hops: number;
  traceparent?: string;
  tracestate?: string;
  /** Decision recorded for the audit record (allow unless a hook rejected). */
  decision: string;
  /** Vault token ids minted or resolved for this call (never values). */
  tokenIds: string[];
  /** Wall-clock time spent inside hooks, for added-latency accounting. */
  hookMs: number;
  /** Set just before the upstream call when `chain.assertCaller` names its upstream (see chain/). */
  callerAssertion?: string;
}

export interface PreHook {
  readonly name: string;
  before(call: McpCall, ctx: CallContext): Outcome<McpCall> | Promise<Outcome<McpCall>>;
  /**
   * A client's answer to an upstream's input request (elicitation, sampling, roots), on its way to
   * the upstream: hooks that scan what goes upstream (PII) implement it.
   */
  answer?(
    value: Record<string, unknown>,
    ctx: CallContext,
  ): Outcome<Record<string, unknown>> | Promise<Outcome<Record<string, unknown>>>;
}

export interface PostHook {
  readonly name: string;
  after(
    call: McpCall,
    result: Record<string, unknown>,
    ctx: CallContext,
  ): Outcome<Record<string, unknown>> | Promise<Outcome<Record<string, unknown>>>;
}

export type PreResult = { ok: true; call: McpCall } | { ok: false; error: ProxyError };

/**
 * Runs pre hooks in order before the upstream and post hooks after it. Each hook may pass, replace
 * the value, or reject; the first reject stops the chain and names the decision for the audit.
 */
export class HookPipeline {
  constructor(
    readonly pre: readonly PreHook[] = [],
    readonly post: readonly PostHook[] = [],
  ) {}

  get empty(): boolean {
    return this.pre.length === 0 && this.post.length === 0;
  }

  async before(call: McpCall, ctx: CallContext): Promise<PreResult> {
    let current = call;
    for (const hook of this.pre) {
      const t0 = performance.now();
      const outcome = await hook.before(current, ctx);
      ctx.hookMs += performance.now() - t0;
      if (outcome.kind === 'reject') {
        ctx.decision = outcome.decision;
        return { ok: false, error: outcome.error };
      }
      if (outcome.kind === 'mutate') current = outcome.value;
    }
    return { ok: true, call: current };
  }

  /** Runs the pre hooks that scan input answers; throws the first rejection. */
  async answer(
    _call: McpCall,
    value: Record<string, unknown>,
    ctx: CallContext,
  ): Promise<Record<string, unknown>> {
    let current = value;
    for (const hook of this.pre) {
      if (!hook.answer) continue;
      const outcome = await hook.answer(current, ctx);
      if (outcome.kind === 'reject') {
        ctx.decision = outcome.decision;
        throw outcome.error;
      }
      if (outcome.kind === 'mutate') current = outcome.value;
    }
    return current;
  }

  async after(
    call: McpCall,
    result: Record<string, unknown>,
    ctx: CallContext,
  ): Promise<Record<string, unknown>> {
    let current = result;
    for (const hook of this.post) {
      const t0 = performance.now();
      const outcome = await hook.after(call, current, ctx);
      ctx.hookMs += performance.now() - t0;
      if (outcome.kind === 'reject') {
        ctx.decision = outcome.decision;
        throw outcome.error;
      }
      if (outcome.kind === 'mutate') current = outcome.value;
    }
    return current;
  }
}
