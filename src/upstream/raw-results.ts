/**
 * Upstream results kept beside the bytes they arrived as (DESIGN.md, "Performance"): a result that
 * reaches the client untouched is relayed as those bytes with only the id (and, for a 2026-07-28 client,
 * the `serverInfo`) changed, instead of being serialised once more (inbound/result-shape.ts,
 * `relayedAnswer`).
 *
 * Keyed by the result object itself: a step that builds a new result (renamed URIs, an input retry)
 * leaves the link behind by construction; a step that may change a result in place (the post hooks:
 * detokenizing, your own hooks) drops it first with `dropRaw`, so nothing governed is ever bypassed.
 */
export interface RawResult {
  /** The whole answer as the upstream sent it: `{"result":…,"jsonrpc":"2.0","id":"…"}` or another order. */
  text: string;
  /** The request id the proxy sent upstream (the one to replace with the client's). */
  upstreamId: string;
}

const kept = new WeakMap<object, RawResult>();

export function keepRaw(result: object, raw: RawResult): void {
  kept.set(result, raw);
}

/** Whatever happens to `result` next may change it: it must be serialised, not relayed. */
export function dropRaw(result: object): void {
  kept.delete(result);
}

/** The bytes `result` arrived as, once (the link is dropped): undefined when there are none. */
export function takeRaw(result: object): RawResult | undefined {
  const raw = kept.get(result);
  if (raw) kept.delete(result);
  return raw;
}
