import type { CallContext, CallMethod } from '../hooks/pipeline.ts';
import type { CallSignal } from '../upstream/call-signal.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';

/** What the router tells the downstream side about (catalog changes, resource updates, upstream logs). */
export type ChangeEvent =
  | { kind: 'tools' | 'prompts' | 'resources' }
  | { kind: 'resource_updated'; uri: string; params?: Record<string, unknown> }
  | { kind: 'log'; upstream: string; params: Record<string, unknown> };

/** How a downstream request talks back while its call runs. */
export interface CallIO {
  signal?: CallSignal;
  /** The downstream client's capabilities, forwarded to 2026-07-28 upstreams. */
  clientCapabilities?: Record<string, unknown>;
  /** Present when the downstream asked for progress (it sent a progressToken). */
  progress?: (p: { progress: number; total?: number; message?: string }) => void;
  /**
   * Other notifications the upstream sent on this call's own stream (logging about the call): they
   * belong to this caller only, so they go back on this request and are never broadcast.
   */
  notify?: (method: string, params: Record<string, unknown> | undefined) => void;
  /**
   * Present when the downstream can be asked for input during the call (a 2025-era client: a
   * server-initiated request on its stream); a 2026-07-28 client is asked with an MRTR result instead.
   */
  ask?: (method: string, params: Record<string, unknown> | undefined) => Promise<Record<string, unknown>>;
  /** The downstream session's binding to its own upstream sessions (2025-era upstreams). */
  session?: SessionBinding;
}

/** Observes every governed call once it ends (the audit log). Runs on the hot path: keep it cheap. */
export type CallObserver = (call: CallRecord) => void;

export interface CallRecord {
  ctx: CallContext;
  method: CallMethod;
  /**
   * Public tool or prompt name (as sent, when unknown); for resources/read the listed URI or the public
   * template it matched (never a URI expanded with values), null when it matched neither.
   */
  publicName: string | null;
  upstream: string | null;
  /** The same on the upstream's side. */
  upstreamName: string | null;
  /** The arguments as received (prompts, tools) or the URI (resources), before any hook: never log it. */
  argumentsValue: unknown;
  totalMs: number;
  upstreamMs: number;
  upstreamStatus: number | null;
  result: 'ok' | 'tool_error' | 'error';
}
