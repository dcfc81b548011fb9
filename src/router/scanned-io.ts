import { UpstreamRpcError } from '../errors.ts';
import type { CallContext, HookPipeline } from '../hooks/pipeline.ts';
import type { CallIO } from './types.ts';

/**
 * Every way a value travels besides a call's arguments and result goes through the hooks that scan
 * (DESIGN.md, "Cedar policies and PII rules"): these wrap those ways.
 */

/** A call's progress messages and its own notifications (log data), scanned on their way down. */
export function scannedIO(io: CallIO, hooks: HookPipeline, ctx: CallContext): CallIO {
  const { progress, notify } = io;
  return {
    ...io,
    progress:
      progress &&
      ((p) => progress(p.message === undefined ? p : { ...p, message: hooks.passing(p.message, ctx) })),
    notify: notify && ((method, params) => notify(method, params && hooks.passing(params, ctx))),
  };
}

/**
 * What a failed upstream request throws on: an upstream's JSON-RPC error with its message and data
 * scanned (same code) when a hook scans what passes down; any other error as it is.
 */
export function scannedFailure(err: unknown, hooks: HookPipeline, ctx: CallContext): unknown {
  if (!(err instanceof UpstreamRpcError) || !hooks.scansPassing) return err;
  const message = hooks.passing(err.message, ctx);
  const data = err.data === undefined ? undefined : hooks.passing(err.data, ctx);
  return message === err.message && data === err.data
    ? err
    : new UpstreamRpcError(err.rpcCode, message, data);
}

/** completion/complete params with the argument typed so far and the context's arguments scanned going up. */
export async function scannedCompletion(
  params: Record<string, unknown>,
  hooks: HookPipeline,
  ctx: CallContext,
): Promise<Record<string, unknown>> {
  let out = params;
  const argument = params.argument;
  if (argument && typeof argument === 'object') {
    const next = await hooks.answer(undefined as never, argument as Record<string, unknown>, ctx);
    if (next !== argument) out = { ...out, argument: next };
  }
  const context = params.context as { arguments?: unknown } | undefined;
  if (context?.arguments && typeof context.arguments === 'object') {
    const next = await hooks.answer(undefined as never, context.arguments as Record<string, unknown>, ctx);
    if (next !== context.arguments) out = { ...out, context: { ...context, arguments: next } };
  }
  return out;
}
