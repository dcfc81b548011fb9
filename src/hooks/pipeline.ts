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
  /** How the credential was presented (Cedar's `principal.kind`); absent: `none`. */
  kind?: 'apiKey' | 'jwt' | 'asserted' | 'none';
  /** A JWT's claims (Cedar's `principal.claims`). */
  claims?: Readonly<Record<string, unknown>>;
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
  /** A tool's annotations as its upstream listed them. */
  annotations?: Record<string, unknown>;
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
  /** The Cedar policies that decided the call (audit `policy_ids`); undefined when Cedar is off. */
  policyIds?: string[];
  /** Vault token ids minted or resolved for this call (never values). */
  tokenIds: string[];
  /**
   * Values this call's own arguments were tokenized from, by token id: the result's tokens of them
   * resolve here without a vault read (a Redis round trip saved on the common echo-back path).
   */
  minted?: Map<string, string>;
  /** Wall-clock time spent inside hooks, for added-latency accounting. */
  hookMs: number;
  /** The config generation that judges the call (audit `config_version`; Cedar on: `policy_ids`). */
  judgedBy?: { version: string; cedar: boolean };
  /** The hook of yours that rejected or failed the call (audit `hook`). */
  hook?: string;
  /** `caller` when the upstream was called with the caller's own credential (tokenExchange, userOAuth). */
  upstreamIdentity?: 'service' | 'caller';
  /** Set just before the upstream call when `chain.assertCaller` names its upstream (see chain/). */
  callerAssertion?: string;
}

export interface PreHook {
  readonly name: string;
  /**
   * The hook only reads the call (never mutates it) and mostly waits on a store: the hooks after it
   * start while it waits, so their store round trips overlap its own (one Redis round trip instead of
   * two for rate limit + PII vault). Its rejection still wins over theirs, as if it had run first.
   */
  readonly overlaps?: boolean;
  /**
   * The hook runs only once every overlapping hook before it has answered, so a call they reject (over
   * its rate limit) never reaches it: your own hooks, which may be remote.
   */
  readonly awaitsEarlier?: boolean;
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
  /** The hook sees call results only, never the input requests an upstream shows the client (your own hooks). */
  readonly resultsOnly?: boolean;
  after(
    call: McpCall,
    result: Record<string, unknown>,
    ctx: CallContext,
  ): Outcome<Record<string, unknown>> | Promise<Outcome<Record<string, unknown>>>;
  /**
   * Another answer on its way down that is not a governed call's result (completion/complete): hooks
   * that scan what comes back (PII) implement it, as they do `after`.
   */
  downstream?(
    result: Record<string, unknown>,
    ctx: CallContext,
  ): Outcome<Record<string, unknown>> | Promise<Outcome<Record<string, unknown>>>;
  /**
   * What passes down beside a result, synchronously so its order holds: a progress message, a log
   * notification, an upstream's JSON-RPC error message and data. The value back (the same one when
   * nothing changed).
   */
  passing?(value: unknown, ctx: CallContext | undefined): unknown;
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
    let waiting: Promise<Outcome<McpCall>>[] | undefined;
    for (const hook of this.pre) {
      if (hook.awaitsEarlier && waiting) {
        const t0 = performance.now();
        const earlier = await firstReject(waiting);
        ctx.hookMs += performance.now() - t0;
        waiting = undefined;
        if (earlier) {
          ctx.decision = earlier.decision;
          return { ok: false, error: earlier.error };
        }
      }
      const t0 = performance.now();
      const pending = hook.before(current, ctx);
      if (hook.overlaps && pending instanceof Promise) {
        // Handled here so a later hook's failure cannot leave it an unhandled rejection; awaited below.
        pending.catch(() => {});
        waiting ??= [];
        waiting.push(pending);
        continue;
      }
      const outcome = await pending;
      ctx.hookMs += performance.now() - t0;
      if (outcome.kind === 'reject') {
        const earlier = waiting && (await firstReject(waiting));
        const winner = earlier ?? outcome;
        ctx.decision = winner.decision;
        return { ok: false, error: winner.error };
      }
      if (outcome.kind === 'mutate') current = outcome.value;
    }
    if (waiting) {
      const t0 = performance.now();
      const earlier = await firstReject(waiting);
      ctx.hookMs += performance.now() - t0;
      if (earlier) {
        ctx.decision = earlier.decision;
        return { ok: false, error: earlier.error };
      }
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

  /**
   * What the client is shown of an upstream's input request: the post hooks that scan values (PII
   * detokenizes), not the ones that only judge results.
   */
  async shown(
    call: McpCall,
    params: Record<string, unknown>,
    ctx: CallContext,
  ): Promise<Record<string, unknown>> {
    let current = params;
    for (const hook of this.post) {
      if (hook.resultsOnly) continue;
      const outcome = await hook.after(call, current, ctx);
      if (outcome.kind === 'reject') throw outcome.error;
      if (outcome.kind === 'mutate') current = outcome.value;
    }
    return current;
  }

  /** Whether any post hook scans what passes beside results (see {@link PostHook.passing}). */
  get scansPassing(): boolean {
    return this.post.some((h) => h.passing);
  }

  /** Runs `passing` of every post hook that has one, in order; `ctx` is undefined outside any call. */
  passing<T>(value: T, ctx: CallContext | undefined): T {
    let current: unknown = value;
    for (const hook of this.post) if (hook.passing) current = hook.passing(current, ctx);
    return current as T;
  }

  /** Runs `downstream` of every post hook that has one; throws the first rejection. */
  async downstream(result: Record<string, unknown>, ctx: CallContext): Promise<Record<string, unknown>> {
    let current = result;
    for (const hook of this.post) {
      if (!hook.downstream) continue;
      const outcome = await hook.downstream(current, ctx);
      if (outcome.kind === 'reject') throw outcome.error;
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

/** The first rejection among overlapping hooks' outcomes, in hook order. */
async function firstReject(
  waiting: Promise<Outcome<McpCall>>[],
): Promise<Extract<Outcome<McpCall>, { kind: 'reject' }> | undefined> {
  for (const outcome of await Promise.all(waiting)) if (outcome.kind === 'reject') return outcome;
  return undefined;
}
