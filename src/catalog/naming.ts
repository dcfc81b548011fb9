import { createHash } from 'node:crypto';

/** MCP allows 1-128 characters of this set in tool and prompt names. */
const VALID_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const HASH_LEN = 8;

export interface NamingOptions {
  separator: string;
  maxLength: number;
}

/**
 * The public name of an upstream entry: `<prefix><separator><name>` (or the name unchanged for an
 * empty prefix). Characters MCP does not allow become `_`, and a name longer than `maxLength` is cut
 * and given a stable hash suffix, so the same upstream name always maps to the same public name.
 */
export function publicName(prefix: string, name: string, opts: NamingOptions): string {
  const full = prefix === '' ? name : `${prefix}${opts.separator}${name}`;
  let clean = VALID_NAME.test(full) ? full : full.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (clean.length === 0) clean = '_';
  if (clean.length <= opts.maxLength && clean === full) return full;
  if (clean.length <= opts.maxLength) return clean;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_LEN);
  return `${clean.slice(0, opts.maxLength - HASH_LEN - 1)}_${hash}`;
}

/** URI form used when two upstreams claim the same resource URI: routes back to one upstream. */
/** Kept raw (not percent-encoded) so a routed resource template still expands like the original. */
export function routedUri(upstream: string, uri: string): string {
  return `mcp-fed://${upstream}/${uri}`;
}

export function parseRoutedUri(uri: string): { upstream: string; uri: string } | undefined {
  if (!uri.startsWith('mcp-fed://')) return undefined;
  const rest = uri.slice('mcp-fed://'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  return { upstream: rest.slice(0, slash), uri: rest.slice(slash + 1) };
}
