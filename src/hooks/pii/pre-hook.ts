import type { PiiConfig, PiiEntity } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { CallContext, McpCall, Outcome, PreHook } from '../pipeline.ts';
import type { Detector } from './detect.ts';
import { rewriter, type TokenMetrics, VAULT_DOWN_DECISION, vaultDown } from './rewrite.ts';
import type { TokenVault, VaultEntry } from './vault.ts';
import { mapStrings, TooDeepError } from './walk.ts';

const PASS: Outcome<McpCall> = { kind: 'pass' };

export interface PreDeps {
  vault: TokenVault;
  log: Logger;
  detect: Detector;
  tokens: TokenMetrics;
}

/**
 * Before the upstream: every string of tools/call and prompts/get arguments (keys too, nested at any
 * depth) and the URI of resources/read is scanned; findings are tokenized, masked, or the call is
 * refused. With tokenize, the vault write must succeed first: raw PII never goes upstream.
 */
export function createPiiPreHook(pii: PiiConfig, deps: PreDeps): PreHook {
  const { vault, log, detect, tokens } = deps;
  const how = (scope: string) =>
    pii.mode === 'tokenize' ? { tokenize: true as const, vault, scope } : { tokenize: false as const };

  /** One value scanned: the same value when clean, the rewritten one, or a rejection. */
  async function scan(target: unknown, what: string, ctx: CallContext): Promise<Outcome<unknown>> {
    const entries = new Map<string, VaultEntry>();
    const entities = new Set<PiiEntity>();
    let next: unknown;
    try {
      next = mapStrings(target, rewriter(detect, how(ctx.caller.id), entries, entities));
    } catch (err) {
      if (!(err instanceof TooDeepError)) throw err;
      const error = new ProxyError('INVALID_REQUEST', `${what} ${err.message}: it cannot be checked for PII`);
      return { kind: 'reject', error, decision: 'pii_blocked' };
    }
    if (next === target) return { kind: 'pass' };
    if (pii.mode === 'block') {
      const found = [...entities];
      const error = new ProxyError(
        'PII_BLOCKED',
        `the ${what} contain personal data (${found.join(', ')}), which this proxy does not forward`,
        { entities: found },
      );
      return { kind: 'reject', error, decision: 'pii_blocked' };
    }
    if (entries.size > 0) {
      const list = [...entries.values()];
      let hits: boolean[];
      try {
        hits = await vault.put(ctx.caller.id, list, pii.tokenTtlSeconds);
      } catch (err) {
        log.warn({ err: (err as Error).message, requestId: ctx.requestId }, 'PII vault write failed');
        return {
          kind: 'reject',
          error: vaultDown('the call was not forwarded'),
          decision: VAULT_DOWN_DECISION,
        };
      }
      tokens.count(list, hits);
      ctx.minted ??= new Map();
      for (const e of list) {
        if (!ctx.tokenIds.includes(e.id)) ctx.tokenIds.push(e.id);
        ctx.minted.set(e.id, e.value);
      }
    }
    return { kind: 'mutate', value: next };
  }

  return {
    name: 'pii',
    async before(call, ctx) {
      const key = call.method === 'resources/read' ? 'uri' : 'arguments';
      let params = call.params;
      const target = params[key];
      if (target !== undefined && target !== null) {
        const out = await scan(target, key === 'uri' ? 'resource URI' : 'arguments', ctx);
        if (out.kind === 'reject') return out;
        if (out.kind === 'mutate') params = { ...params, [key]: out.value };
      }
      // A retry that answers input requests (MRTR): the answers go upstream too.
      const answers = params.inputResponses;
      if (answers !== undefined && answers !== null) {
        const out = await scan(answers, 'input responses', ctx);
        if (out.kind === 'reject') return out;
        if (out.kind === 'mutate') params = { ...params, inputResponses: out.value };
      }
      return params === call.params ? PASS : { kind: 'mutate', value: { ...call, params } };
    },
    async answer(value, ctx) {
      return (await scan(value, 'input responses', ctx)) as Outcome<Record<string, unknown>>;
    },
  };
}
