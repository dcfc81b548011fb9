import type { PiiConfig } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import type { PostHook, PreHook } from '../pipeline.ts';
import { createDetector } from './detect.ts';
import { createPiiPostHook } from './post-hook.ts';
import { createPiiPreHook } from './pre-hook.ts';
import { TokenMetrics } from './rewrite.ts';
import type { TokenVault } from './vault.ts';

export { createDetector } from './detect.ts';
export { responseScope } from './post-hook.ts';
export { VAULT_DOWN_DECISION } from './rewrite.ts';
export { mask, TOKEN, token } from './tokens.ts';
export { createVault, type TokenVault, type VaultEntry } from './vault.ts';

export interface PiiDeps {
  vault: TokenVault;
  metrics: Metrics;
  log: Logger;
}

/**
 * The PII hooks of `pii` (issue 5), for the governance assembly (src/hooks/build.ts). `pre` tokenizes,
 * redacts or blocks PII in tools/call and prompts/get arguments and the resources/read URI; `post`
 * (absent when there is nothing to do on the way back) restores the caller's tokens and masks or
 * tokenizes PII that originates upstream. Undefined when `pii.mode` is off.
 */
export function createPiiHooks(pii: PiiConfig, deps: PiiDeps): { pre: PreHook; post?: PostHook } | undefined {
  if (pii.mode === 'off' || pii.entities.length === 0) return undefined;
  const shared = {
    vault: deps.vault,
    log: deps.log,
    detect: createDetector(pii.entities),
    tokens: new TokenMetrics(deps.metrics),
  };
  const pre = createPiiPreHook(pii, shared);
  const restores = pii.mode === 'tokenize' && pii.detokenizeResponses;
  if (!restores && pii.responses === 'off') return { pre };
  return { pre, post: createPiiPostHook(pii, shared) };
}
