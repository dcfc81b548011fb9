/** Deeper than this, a value is refused rather than scanned (a recursion bomb must not skip the scan). */
export const MAX_DEPTH = 128;

export class TooDeepError extends Error {
  constructor() {
    super(`value nests deeper than ${MAX_DEPTH} levels`);
  }
}

/** Base64 payloads: binary content (image/audio `data`, resource `blob`) is not text to scan. */
function isBinary(key: string, parent: Record<string, unknown>): boolean {
  return key === 'blob' || (key === 'data' && (parent.type === 'image' || parent.type === 'audio'));
}

/**
 * Maps every string of a JSON value (leaves and object keys) through `fn`, copy-on-write: an unchanged
 * value comes back as the same reference, so "nothing to do" costs one walk and no allocation.
 */
export function mapStrings(value: unknown, fn: (s: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return fn(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) throw new TooDeepError();
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const next = mapStrings(value[i], fn, depth + 1);
      if (next !== value[i]) {
        out ??= value.slice();
        out[i] = next;
      }
    }
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(obj);
  for (const key of keys) {
    const child = obj[key];
    const next = isBinary(key, obj) ? child : mapStrings(child, fn, depth + 1);
    const nextKey = fn(key);
    if (next !== child || nextKey !== key) {
      out ??= rebuildUpTo(obj, keys, key);
      set(out, nextKey, next);
    } else if (out) set(out, key, child);
  }
  return out ?? value;
}

/** A copy holding the entries before `stop`, in order (later ones are added as the walk goes on). */
function rebuildUpTo(obj: Record<string, unknown>, keys: string[], stop: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (k === stop) break;
    set(out, k, obj[k]);
  }
  return out;
}

/** JSON.parse makes "__proto__" an own key; plain assignment would set the prototype instead. */
function set(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Calls `fn` on every string of a JSON value (leaves and keys), binary payloads excepted. */
export function forEachString(value: unknown, fn: (s: string) => void, depth = 0): void {
  if (typeof value === 'string') {
    fn(value);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_DEPTH) throw new TooDeepError();
  if (Array.isArray(value)) {
    for (const v of value) forEachString(v, fn, depth + 1);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    fn(key);
    if (!isBinary(key, obj)) forEachString(obj[key], fn, depth + 1);
  }
}
