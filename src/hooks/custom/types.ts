/**
 * The contract of your own hooks (DESIGN.md, "Your own hooks"): what a hook is given and what it
 * answers, identical for a module hook (these objects, frozen) and a remote hook (this JSON).
 * Import the types with `import type { Hook } from 'mcp-fed/hooks'`.
 */

export type HookMethod = 'tools/call' | 'prompts/get' | 'resources/read';

/** The governed call a hook sees. PII in `arguments` is tokens (`<EMAIL_…>`) unless the hook `sees: raw`. */
export interface HookCall {
  readonly method: HookMethod;
  /** Public tool or prompt name, or the public resource URI. */
  readonly name: string;
  readonly upstream: string;
  /** The name (or URI) on the upstream. */
  readonly upstreamName: string;
  /** Tool/prompt arguments; `{}` for resources/read. */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** A tool's annotations as its upstream listed them (`{}` when none). */
  readonly annotations: Readonly<Record<string, unknown>>;
}

export interface HookContext {
  readonly requestId: string;
  readonly caller: { readonly id: string; readonly groups: readonly string[] };
  /** The client's MCP era: 2026-07-28 (`modern`) or 2025-11-25 and before (`legacy`). */
  readonly era: 'modern' | 'legacy';
  /** Proxies the call has crossed, this one included (1 when a client called this proxy directly). */
  readonly hops: number;
  /** The W3C trace id of the call, when it has one. */
  readonly traceId: string | null;
}

/** What a remote hook receives as its POST body. */
export interface HookRequest {
  readonly phase: 'before' | 'after';
  readonly call: HookCall;
  /** The upstream's result (after-hooks only), upstream-held PII masked. */
  readonly result?: Readonly<Record<string, unknown>>;
  readonly context: HookContext;
}

/**
 * A hook's answer. `mutate` carries new `arguments` (before) or a new `result` (after); `reject` a
 * `message` for the caller (HOOK_REJECTED).
 */
export type HookAnswer =
  | { outcome: 'pass' }
  | { outcome: 'mutate'; arguments: Record<string, unknown> }
  | { outcome: 'mutate'; result: Record<string, unknown> }
  | { outcome: 'reject'; message?: string };

/** A module hook: an ES module exporting either function or both. */
export interface Hook {
  before?(call: HookCall, context: HookContext): HookAnswer | Promise<HookAnswer>;
  after?(
    call: HookCall,
    result: Readonly<Record<string, unknown>>,
    context: HookContext,
  ): HookAnswer | Promise<HookAnswer>;
}
