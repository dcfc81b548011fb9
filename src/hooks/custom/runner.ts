import type { HookRequest } from './types.ts';

/**
 * One hook of yours as the proxy drives it, whatever it is made of: a module's functions or a remote
 * endpoint. It answers a {@link HookRequest} with something that should be a HookAnswer; judging that
 * answer, timing it out and failing closed are the caller's job (custom-hooks.ts).
 */
export interface HookRunner {
  readonly kind: 'module' | 'remote';
  /** Whether it takes part in a phase (a module exporting only `before` sits out `after`). */
  handles(phase: HookRequest['phase']): boolean;
  /** `headers`: the call's W3C trace context and request id, for a remote hook's request. */
  answer(request: HookRequest, signal: AbortSignal, headers: Record<string, string>): Promise<unknown>;
  /** Remote hooks: whether the endpoint accepts connections, for /readyz. */
  reachable?(): Promise<boolean>;
  close(): Promise<void>;
}
