import { z } from 'zod';
import { traceIdOf } from '../../telemetry/tracing.ts';
import type { CallContext, McpCall } from '../pipeline.ts';
import type { HookCall, HookContext } from './types.ts';

const record = z.record(z.string(), z.unknown());

/** A hook's answer as DESIGN.md defines it; anything else is a hook failure. */
const AnswerSchema = z.discriminatedUnion('outcome', [
  z.looseObject({ outcome: z.literal('pass') }),
  z.looseObject({ outcome: z.literal('mutate'), arguments: record.optional(), result: record.optional() }),
  z.looseObject({ outcome: z.literal('reject'), message: z.string().max(4096).optional() }),
]);
export type Answer = z.output<typeof AnswerSchema>;

/** The answer, or why it is not one (in words for the log and HOOK_FAILED; never the answer's values). */
export function judgeAnswer(value: unknown): { ok: true; answer: Answer } | { ok: false; reason: string } {
  const parsed = AnswerSchema.safeParse(value);
  if (parsed.success) return { ok: true, answer: parsed.data };
  if (value === undefined) return { ok: false, reason: 'answered nothing (return { outcome: "pass" })' };
  const outcome = (value as { outcome?: unknown } | null)?.outcome;
  if (typeof outcome === 'string' && !['pass', 'mutate', 'reject'].includes(outcome))
    return { ok: false, reason: 'answered an unknown outcome' };
  return { ok: false, reason: 'answered something that is not a hook answer' };
}

/** The lists a result of each method must carry, so a mutated result is still an answer the client reads. */
const RESULT_LIST: Record<McpCall['method'], string> = {
  'tools/call': 'content',
  'prompts/get': 'messages',
  'resources/read': 'contents',
};

/** Why a mutated result cannot stand in for the upstream's, or undefined when it can. */
export function badResult(method: McpCall['method'], result: Record<string, unknown>): string | undefined {
  const list = RESULT_LIST[method];
  return Array.isArray(result[list]) ? undefined : `mutated the result without a "${list}" array`;
}

/** What a hook is told about the call (its arguments as given: tokens or raw is the caller's choice). */
export function hookCall(call: McpCall, args: unknown): HookCall {
  return {
    method: call.method,
    name: call.publicName,
    upstream: call.upstream,
    upstreamName: call.upstreamName,
    arguments: args !== null && typeof args === 'object' ? (args as Record<string, unknown>) : {},
    annotations: call.annotations ?? {},
  };
}

export function hookContext(ctx: CallContext): HookContext {
  return {
    requestId: ctx.requestId,
    caller: { id: ctx.caller.id, groups: [...ctx.caller.groups] },
    era: ctx.era,
    hops: ctx.hops,
    traceId: traceIdOf(ctx.traceparent),
  };
}

/** Headers a remote hook's request carries: the call's W3C trace context and its request id. */
export function traceHeaders(ctx: CallContext): Record<string, string> {
  const h: Record<string, string> = { 'x-request-id': ctx.requestId };
  if (ctx.traceparent) h.traceparent = ctx.traceparent;
  if (ctx.tracestate) h.tracestate = ctx.tracestate;
  return h;
}
