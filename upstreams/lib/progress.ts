import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerContext } from '@modelcontextprotocol/server';

export interface ProgressRun {
  completed: number;
  cancelled: boolean;
}

/**
 * Runs `steps` timed steps, reporting progress against the caller's progressToken (when it
 * sent one) and stopping as soon as the request is cancelled: over 2026 HTTP that is the
 * client closing the response stream, elsewhere notifications/cancelled.
 */
export async function stepWithProgress(
  ctx: ServerContext,
  steps: number,
  delayMs: number,
): Promise<ProgressRun> {
  const token = ctx.mcpReq._meta?.progressToken;
  const signal = ctx.mcpReq.signal;
  for (let i = 1; i <= steps; i++) {
    try {
      await sleep(delayMs, undefined, { signal });
    } catch {
      return { completed: i - 1, cancelled: true };
    }
    if (signal.aborted) return { completed: i - 1, cancelled: true };
    if (token !== undefined) {
      await ctx.mcpReq
        .notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps, message: `step ${i}/${steps}` },
        })
        .catch(() => {});
    }
  }
  // SDK clients dispatch notifications a microtask late but responses at once, so a final
  // progress that lands in the same read as the result is dropped; a tick apart avoids that.
  if (token !== undefined && steps > 0) await sleep(1);
  return { completed: steps, cancelled: false };
}
