import { globMatcher } from '../../catalog/glob.ts';
import type { HookConfig } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import type { CallContext, McpCall, Outcome, PostHook, PreHook } from '../pipeline.ts';
import { type Answer, badResult, hookCall, hookContext, judgeAnswer, traceHeaders } from './answers.ts';
import type { HookRunner } from './runner.ts';
import type { HookRequest } from './types.ts';

export interface CustomHookDeps {
  metrics: Metrics;
  log: Logger;
  /** Run again on a before-hook's new arguments, in order: Cedar judges them, PII tokenizes them. */
  recheck: readonly PreHook[];
  /** What a hook is shown on the way down, and what a rejection message becomes: upstream-held PII masked. */
  mask(value: unknown): unknown;
  /** What a `sees: raw` module hook is shown: the values this call's own tokens stand for. */
  restore(value: unknown, ctx: CallContext): unknown;
}

/** One configured hook: its config, what drives it, and which calls it sees. */
export interface LoadedHook {
  config: HookConfig;
  runner: HookRunner;
}

type Phase = HookRequest['phase'];
type Consulted = { ok: true; answer: Answer } | { ok: false; reason: string };

/**
 * Turns your hooks into pipeline hooks (DESIGN.md, "Your own hooks"): a PreHook per hook with a
 * before phase, in list order, and a PostHook per hook with an after phase, in reverse order. Each
 * asks its hook, holds the answer to the contract, and fails closed (HOOK_FAILED) unless `onError: pass`.
 */
export function pipelineHooks(hooks: readonly LoadedHook[], deps: CustomHookDeps) {
  const pre: PreHook[] = [];
  const post: PostHook[] = [];
  for (const h of hooks) {
    const ask = asker(h, deps);
    const matches = matcher(h.config);
    if (h.config.phases.includes('before') && h.runner.handles('before'))
      pre.push({
        name: `hook:${h.config.name}`,
        awaitsEarlier: true,
        before: (call, ctx) => (matches(call) ? before(h, ask, call, ctx, deps) : PASS),
      });
    if (h.config.phases.includes('after') && h.runner.handles('after'))
      post.unshift({
        name: `hook:${h.config.name}`,
        resultsOnly: true,
        after: (call, result, ctx) => (matches(call) ? after(h, ask, call, result, ctx, deps) : PASS),
      });
  }
  return { pre, post };
}

const PASS = { kind: 'pass' } as const;

async function before(
  h: LoadedHook,
  ask: Asker,
  call: McpCall,
  ctx: CallContext,
  deps: CustomHookDeps,
): Promise<Outcome<McpCall>> {
  const request: HookRequest = {
    phase: 'before',
    call: shownCall(h, call, ctx, deps),
    context: hookContext(ctx),
  };
  const consulted = await ask('before', request, ctx);
  if (!consulted.ok) return failure(h, 'before', consulted.reason, ctx, deps);
  const { answer } = consulted;
  if (answer.outcome === 'pass') return PASS;
  if (answer.outcome === 'reject') return rejection(h, answer.message, ctx, deps);
  if (call.method === 'resources/read')
    return failure(h, 'before', 'mutated a resources/read (its URI is its name)', ctx, deps);
  if (!answer.arguments) return failure(h, 'before', 'mutated without "arguments"', ctx, deps);
  // The new arguments are judged and scanned as if the caller had sent them: Cedar, then PII.
  let current: McpCall = { ...call, params: { ...call.params, arguments: answer.arguments } };
  for (const again of deps.recheck) {
    const outcome = await again.before(current, ctx);
    if (outcome.kind === 'reject') return outcome;
    if (outcome.kind === 'mutate') current = outcome.value;
  }
  return { kind: 'mutate', value: current };
}

async function after(
  h: LoadedHook,
  ask: Asker,
  call: McpCall,
  result: Record<string, unknown>,
  ctx: CallContext,
  deps: CustomHookDeps,
): Promise<Outcome<Record<string, unknown>>> {
  const request: HookRequest = {
    phase: 'after',
    call: shownCall(h, call, ctx, deps),
    result: (h.config.sees === 'raw' ? deps.restore(result, ctx) : deps.mask(result)) as Record<
      string,
      unknown
    >,
    context: hookContext(ctx),
  };
  const consulted = await ask('after', request, ctx);
  if (!consulted.ok) return failure(h, 'after', consulted.reason, ctx, deps);
  const { answer } = consulted;
  if (answer.outcome === 'pass') return PASS;
  if (answer.outcome === 'reject') return rejection(h, answer.message, ctx, deps);
  if (!answer.result) return failure(h, 'after', 'mutated without "result"', ctx, deps);
  const bad = badResult(call.method, answer.result);
  if (bad) return failure(h, 'after', bad, ctx, deps);
  // Scanned again on the way down by the PII hook after this one (it masks, then restores the caller's).
  return { kind: 'mutate', value: answer.result };
}

/** The call as a hook is shown it: arguments as they go upstream (tokens), or restored for `sees: raw`. */
function shownCall(h: LoadedHook, call: McpCall, ctx: CallContext, deps: CustomHookDeps) {
  const given = call.method === 'resources/read' ? {} : call.params.arguments;
  return hookCall(call, h.config.sees === 'raw' ? deps.restore(given, ctx) : given);
}

type Asker = (phase: Phase, request: HookRequest, ctx: CallContext) => Promise<Consulted>;

/** Asks the hook within its `timeoutMs`, judges the answer, and counts both in the metrics. */
function asker(h: LoadedHook, deps: CustomHookDeps): Asker {
  const { name, timeoutMs } = h.config;
  const latency = deps.metrics.hookLatency.labels({ hook: name });
  return async (phase, request, ctx) => {
    const t0 = performance.now();
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new Error(`timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    let consulted: Consulted;
    try {
      const value = await Promise.race([h.runner.answer(request, ac.signal, traceHeaders(ctx)), timedOut]);
      consulted = judgeAnswer(value);
    } catch (err) {
      consulted = { ok: false, reason: reasonOf(err, h) };
    } finally {
      clearTimeout(timer);
    }
    latency.observe((performance.now() - t0) / 1000);
    const outcome = consulted.ok ? consulted.answer.outcome : 'error';
    deps.metrics.hookDecisions.inc({ hook: name, phase, outcome });
    return consulted;
  };
}

/** A thrown error's reason: a remote hook's is ours (safe); a module's own message may hold anything. */
function reasonOf(err: unknown, h: LoadedHook): string {
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('timed out after')) return message;
  return h.runner.kind === 'remote' ? message : `threw: ${message}`;
}

function failure<T>(
  h: LoadedHook,
  phase: Phase,
  reason: string,
  ctx: CallContext,
  deps: CustomHookDeps,
): Outcome<T> {
  const said = String(deps.mask(reason));
  const passes = h.config.onError === 'pass';
  deps.log.warn(
    { hook: h.config.name, phase, requestId: ctx.requestId, reason: said },
    passes ? 'hook failed; onError: pass lets the call through' : 'hook failed; the call is refused',
  );
  if (passes) return PASS;
  ctx.hook = h.config.name;
  return {
    kind: 'reject',
    decision: 'hook_failed',
    error: new ProxyError('HOOK_FAILED', `hook "${h.config.name}" failed: ${said}`, { hook: h.config.name }),
  };
}

function rejection<T>(
  h: LoadedHook,
  message: string | undefined,
  ctx: CallContext,
  deps: CustomHookDeps,
): Outcome<T> {
  ctx.hook = h.config.name;
  const said = message ? String(deps.mask(message)) : `rejected by hook "${h.config.name}"`;
  return {
    kind: 'reject',
    decision: 'hook_rejected',
    error: new ProxyError('HOOK_REJECTED', said, { hook: h.config.name }),
  };
}

/** Which calls a hook sees: its `match` (every governed call when absent). */
function matcher(config: HookConfig): (call: McpCall) => boolean {
  const m = config.match;
  if (!m) return () => true;
  const methods = m.methods && new Set<string>(m.methods);
  const names = m.tools && globMatcher(m.tools);
  const upstreams = m.upstreams && globMatcher(m.upstreams);
  return (call) =>
    (!methods || methods.has(call.method)) &&
    (!names || names(call.publicName)) &&
    (!upstreams || upstreams(call.upstream));
}
