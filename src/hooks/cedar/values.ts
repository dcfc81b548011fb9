import type { CedarValueJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { Reads } from './reads.ts';

/** Arguments over this much JSON are not passed to policies (DESIGN.md: `context.arguments` absent). */
export const MAX_ARGUMENT_BYTES = 64 * 1024;

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
/** Cedar's `decimal`: at most four fractional digits, within ±922337203685477.5807. */
const DECIMAL_LIMIT = 922337203685477;

class TooBig extends Error {}

/**
 * A JSON value as a Cedar value (DESIGN.md, "Cedar policies"): integers in Long range as Long, other
 * numbers as `decimal` where representable (else their JSON text), strings, booleans, arrays (sets)
 * and objects (records) as they are; `null` members dropped; the escape keys `__entity` and `__extn`
 * renamed `_entity` / `_extn`, so a caller can never make an argument read as an entity or an
 * extension call. `reads` projects: only what a policy reads is converted (the rest is never walked).
 * Undefined for a value that maps to nothing (null). The 64 KiB cap is {@link jsonLongerThan}'s.
 */
function spend(budget: { left: number }, n: number): void {
  budget.left -= n;
  if (budget.left < 0) throw new TooBig();
}

export function toCedar(value: unknown, reads?: Reads): CedarValueJson | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return value;
    case 'number':
      return number(value);
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        const out: CedarValueJson[] = [];
        // A set's members are compared whole (contains, containsAll): never projected.
        for (const v of value) {
          const c = toCedar(v);
          if (c !== undefined) out.push(c);
        }
        return out;
      }
      const out: Record<string, CedarValueJson> = {};
      const source = value as Record<string, unknown>;
      const keys = reads && !reads.whole ? [...reads.attrs.keys()] : Object.keys(source);
      for (const key of keys) {
        if (!Object.hasOwn(source, key)) continue;
        const c = toCedar(source[key], reads?.whole ? undefined : reads?.attrs.get(key));
        if (c !== undefined) out[safeKey(key)] = c;
      }
      return out;
    }
    default:
      return undefined;
  }
}

function safeKey(key: string): string {
  return key === '__entity' ? '_entity' : key === '__extn' ? '_extn' : key;
}

function number(n: number): CedarValueJson {
  if (Number.isInteger(n)) {
    const big = BigInt(n);
    if (big >= LONG_MIN && big <= LONG_MAX) return Number.isSafeInteger(n) ? n : String(n);
    return JSON.stringify(n);
  }
  if (!Number.isFinite(n)) return JSON.stringify(n);
  const text = String(n);
  // Representable as a decimal: plain notation, at most four fractional digits, in range.
  const m = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(text);
  if (m && Number(m[2]) <= DECIMAL_LIMIT)
    return { __extn: { fn: 'decimal', arg: m[3] ? text : `${text}.0` } };
  return text;
}

/**
 * Whether `value`'s JSON text is longer than `limit` characters (about; escapes are not counted),
 * found without serialising it and without walking further than the limit.
 */
export function jsonLongerThan(value: unknown, limit: number): boolean {
  const budget = { left: limit };
  try {
    size(value, budget);
    return false;
  } catch (err) {
    if (err instanceof TooBig) return true;
    throw err;
  }
}

function size(value: unknown, budget: { left: number }): void {
  if (typeof value !== 'object' || value === null) {
    spend(budget, typeof value === 'string' ? value.length + 2 : 5);
    return;
  }
  spend(budget, 2);
  if (Array.isArray(value)) {
    for (const v of value) size(v, budget);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    spend(budget, k.length + 3);
    size(v, budget);
  }
}

/** `datetime` of an epoch millisecond time (Cedar's extension type, UTC). */
export function datetime(ms: number): CedarValueJson {
  return { __extn: { fn: 'datetime', arg: new Date(ms).toISOString() } };
}
