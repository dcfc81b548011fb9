import type { PiiEntity } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import type { Detector } from './detect.ts';
import { mask, token } from './tokens.ts';
import type { TokenVault, VaultEntry } from './vault.ts';

/**
 * The policy decision (metric label) of a call the vault could not serve. The audit record's fixed
 * decision list (DESIGN.md) has no such entry: src/hooks/audit/record.ts writes it as `pii_blocked`, the
 * PII hook having failed closed; the caller's error code (STORE_UNAVAILABLE) says why.
 */
export const VAULT_DOWN_DECISION = 'store_unavailable';

export function vaultDown(what: string): ProxyError {
  return new ProxyError(
    'STORE_UNAVAILABLE',
    `the PII vault cannot be reached, so ${what}; try again shortly`,
    { retryAfterMs: 1000 },
    503,
  );
}

/** Replaces every finding in one string: by a token of `scope` (collected in `entries`) or by a mask. */
export function rewriter(
  detect: Detector,
  how: { tokenize: false } | { tokenize: true; vault: TokenVault; scope: string },
  entries: Map<string, VaultEntry>,
  entities: Set<PiiEntity>,
): (s: string) => string {
  return (s) => {
    const found = detect(s);
    if (found.length === 0) return s;
    let out = '';
    let last = 0;
    for (const m of found) {
      const value = s.slice(m.start, m.end);
      entities.add(m.entity);
      let replacement: string;
      if (how.tokenize) {
        const id = how.vault.tokenId(how.scope, m.entity, value);
        entries.set(id, { id, value, entity: m.entity });
        replacement = token(m.entity, id);
      } else replacement = mask(m.entity);
      out += s.slice(last, m.start) + replacement;
      last = m.end;
    }
    return out + s.slice(last);
  };
}

/** `mcp_fed_pii_tokens_total{entity,result}` with bound children (the hot path hashes no label objects). */
export class TokenMetrics {
  private readonly children = new Map<string, { inc(n?: number): void }>();
  constructor(private readonly metrics: Metrics) {}

  count(entries: readonly VaultEntry[], hits: readonly boolean[]): void {
    entries.forEach((e, i) => {
      const result = hits[i] ? 'hit' : 'miss';
      const key = `${e.entity}:${result}`;
      let child = this.children.get(key);
      if (!child) {
        child = this.metrics.piiTokens.labels({ entity: e.entity, result });
        this.children.set(key, child);
      }
      child.inc();
    });
  }
}
