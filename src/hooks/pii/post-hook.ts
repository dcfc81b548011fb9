import type { PiiConfig, PiiEntity } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Outcome, PostHook } from '../pipeline.ts';
import type { Detector } from './detect.ts';
import { rewriter, type TokenMetrics, VAULT_DOWN_DECISION, vaultDown } from './rewrite.ts';
import { tokenSpans } from './tokens.ts';
import type { TokenVault, VaultEntry } from './vault.ts';
import { forEachString, mapStrings, TooDeepError } from './walk.ts';

type Result = Record<string, unknown>;
const PASS: Outcome<Result> = { kind: 'pass' };

/**
 * Tokens minted for PII an upstream returned (`responses: tokenize`) live in a scope of their own:
 * the caller can join on them, but no later result ever turns them back into the value for it.
 */
export const responseScope = (caller: string) => `${caller}\0upstream`;

export interface PostDeps {
  vault: TokenVault;
  log: Logger;
  detect: Detector;
  tokens: TokenMetrics;
}

/**
 * After the upstream: tokens of the caller's own scope become its values again (text, structured
 * content, embedded resources, prompt messages, resource contents: every string of the result);
 * a token of another scope, or one that expired, stays a token. PII the upstream itself returned is
 * masked or tokenized per `pii.responses`; the caller's restored values are not scanned again.
 */
export function createPiiPostHook(pii: PiiConfig, deps: PostDeps): PostHook {
  const { vault, log, detect, tokens } = deps;
  const detokenize = pii.mode === 'tokenize' && pii.detokenizeResponses;
  const maskUpstream =
    pii.responses === 'off' ? undefined : rewriter(detect, { tokenize: false }, new Map(), new Set());
  const hook: PostHook = {
    name: 'pii',
    downstream: (result, ctx) => hook.after(undefined as never, result, ctx),
    passing(value, ctx) {
      // Synchronous, so no vault read: the caller's values this very call tokenized come back; other
      // tokens stay tokens; PII the upstream sent is masked (a log line is no place for a vault token).
      const minted = detokenize ? ctx?.minted : undefined;
      if (!maskUpstream && !minted) return value;
      try {
        return mapStrings(value, (s) => restoreAndScan(s, minted, maskUpstream));
      } catch (err) {
        if (!(err instanceof TooDeepError)) throw err;
        return '[unscannable value withheld]';
      }
    },
    async after(_call, result, ctx) {
      try {
        let values = new Map<string, string>();
        if (detokenize) {
          const ids = new Set<string>();
          forEachString(result, (s) => {
            for (const t of tokenSpans(s)) ids.add(t.id);
          });
          // Tokens of values this very call sent need no vault read.
          const minted = ctx.minted;
          if (minted && ids.size > 0) {
            for (const id of ids) {
              const value = minted.get(id);
              if (value === undefined) continue;
              values.set(id, value);
              ids.delete(id);
            }
          }
          if (ids.size > 0) {
            try {
              const stored = await vault.get(ctx.caller.id, [...ids]);
              if (values.size === 0) values = stored;
              else for (const [id, value] of stored) values.set(id, value);
            } catch (err) {
              log.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'PII vault read failed');
              const error = vaultDown('the result cannot be given back with your values');
              return { kind: 'reject', error, decision: VAULT_DOWN_DECISION };
            }
          }
        }
        const entries = new Map<string, VaultEntry>();
        const entities = new Set<PiiEntity>();
        const scope = responseScope(ctx.caller.id);
        const scan =
          pii.responses === 'off'
            ? (s: string) => s
            : rewriter(
                detect,
                pii.responses === 'tokenize' ? { tokenize: true, vault, scope } : { tokenize: false },
                entries,
                entities,
              );
        const next = mapStrings(result, (s) =>
          restoreAndScan(s, values.size > 0 ? values : undefined, scan),
        ) as Result;
        if (entries.size > 0) {
          const list = [...entries.values()];
          try {
            tokens.count(list, await vault.put(scope, list, pii.tokenTtlSeconds));
          } catch (err) {
            log.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'PII vault write failed');
            const error = vaultDown('the result cannot be tokenized');
            return { kind: 'reject', error, decision: VAULT_DOWN_DECISION };
          }
          for (const id of entries.keys()) if (!ctx.tokenIds.includes(id)) ctx.tokenIds.push(id);
        }
        return next === result ? PASS : { kind: 'mutate', value: next };
      } catch (err) {
        if (!(err instanceof TooDeepError)) throw err;
        const error = new ProxyError(
          'UPSTREAM_ERROR',
          `the upstream result ${err.message}: it cannot be checked for PII`,
        );
        return { kind: 'reject', error, decision: 'pii_blocked' };
      }
    },
  };
  return hook;
}

/** A value with the tokens `minted` knows (this call's own) replaced by their values; nothing scanned. */
export function restoreOwnTokens(value: unknown, minted: ReadonlyMap<string, string> | undefined): unknown {
  if (!minted || minted.size === 0) return value;
  return mapStrings(value, (s) => restoreAndScan(s, minted, undefined));
}

/**
 * One string on its way down: the tokens `values` knows become their values again, and every stretch
 * between them goes through `scan` (PII the upstream sent); without either, the string as it is.
 */
function restoreAndScan(
  s: string,
  values: ReadonlyMap<string, string> | undefined,
  scan: ((s: string) => string) | undefined,
): string {
  const spans = values ? tokenSpans(s) : [];
  const through = scan ?? ((x: string) => x);
  if (spans.length === 0) return through(s);
  let out = '';
  let last = 0;
  for (const t of spans) {
    out += through(s.slice(last, t.start)) + (values?.get(t.id) ?? s.slice(t.start, t.end));
    last = t.end;
  }
  return out + through(s.slice(last));
}
