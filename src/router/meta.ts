import { HOPS_META_KEY } from '../upstream/correlation.ts';

const RESERVED_PREFIX = 'io.modelcontextprotocol/';

/**
 * The params sent upstream: the downstream's own `_meta` envelope (protocol version, client info and
 * capabilities, progress token) belongs to the downstream hop, so it is dropped; the upstream client
 * attaches its own. Everything else in `_meta` (trace context, vendor keys) travels on, plus the hop count.
 */
export function upstreamParams(params: Record<string, unknown>, hops: number): Record<string, unknown> {
  const meta = params._meta as Record<string, unknown> | undefined;
  const out: Record<string, unknown> = { ...params };
  const nextMeta: Record<string, unknown> = {};
  if (meta) {
    for (const key in meta) {
      if (key === 'progressToken' || key.startsWith(RESERVED_PREFIX)) continue;
      nextMeta[key] = meta[key];
    }
  }
  nextMeta[HOPS_META_KEY] = hops;
  out._meta = nextMeta;
  return out;
}
