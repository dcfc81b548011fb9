import { CALLER_META_KEY } from '../chain/caller-assertion.ts';
import { HOPS_META_KEY, type HopContext, REQUEST_ID_META_KEY } from '../upstream/correlation.ts';
import type { Upstream } from '../upstream/upstream.ts';
import type { SessionBinding } from '../upstream/upstream-sessions.ts';

const RESERVED_PREFIX = 'io.modelcontextprotocol/';
/** The one envelope key that is the caller's wish for this call, not a fact of its hop: it travels on. */
export const LOG_LEVEL_META = 'io.modelcontextprotocol/logLevel';

/**
 * The params sent upstream: the downstream's own `_meta` envelope (protocol version, client info and
 * capabilities, progress token) belongs to the downstream hop, so it is dropped; the upstream client
 * attaches its own. Everything else in `_meta` (vendor keys) travels on, plus the correlation of this
 * call: hop count, request id, W3C trace context and, with `chain.assertCaller`, this proxy's caller
 * assertion (stdio hops have no headers to carry them). A caller assertion that came from downstream
 * never travels on: it was for this proxy only.
 */
export function upstreamParams(params: Record<string, unknown>, hop: HopContext): Record<string, unknown> {
  const meta = params._meta as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = { ...params };
  const nextMeta: Record<string, unknown> = {};
  if (meta) {
    for (const key in meta) {
      if (key === 'progressToken' || key === CALLER_META_KEY) continue;
      if (key.startsWith(RESERVED_PREFIX) && key !== LOG_LEVEL_META) continue;
      nextMeta[key] = meta[key];
    }
  }
  nextMeta[HOPS_META_KEY] = hop.hops;
  nextMeta[REQUEST_ID_META_KEY] = hop.requestId;
  if (hop.traceparent) nextMeta.traceparent = hop.traceparent;
  if (hop.tracestate) nextMeta.tracestate = hop.tracestate;
  if (hop.callerAssertion) nextMeta[CALLER_META_KEY] = hop.callerAssertion;
  out._meta = nextMeta;
  return out;
}

/**
 * A 2025-era session's logging/setLevel, for a 2026-07-28 upstream: there the level is per request
 * (`_meta` logLevel) and no level means no log notifications, so each call of the session carries it.
 */
export function withSessionLogLevel(
  params: Record<string, unknown>,
  up: Upstream,
  session: SessionBinding | undefined,
): Record<string, unknown> {
  const level = session?.logLevel;
  if (!level || up.era !== 'modern') return params;
  const meta = params._meta as Record<string, unknown>;
  meta[LOG_LEVEL_META] ??= level;
  return params;
}
