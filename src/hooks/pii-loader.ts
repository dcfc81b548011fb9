import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { RedisClient } from '../store/redis-client.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { PostHook, PreHook } from './pipeline.ts';

interface PiiHooks {
  pre: PreHook;
  post?: PostHook;
}

/** The vault as this loader hands it on: closed by whoever owns it (governance, at process end). */
interface VaultLike {
  close(): Promise<void>;
}

interface PiiModule {
  createPiiHooks?: (
    config: Config['pii'],
    deps: { vault: unknown; metrics: Metrics; log: Logger },
  ) => PiiHooks | undefined;
}

interface VaultModule {
  createVault?: (config: Config, redis?: RedisClient) => unknown;
}

// Computed specifiers are not rewritten by the build, so they take this module's own extension:
// .ts from source, .js from dist/ (the container image runs compiled JS without a TypeScript loader).
const sibling = (path: string) =>
  new URL(`${path}${import.meta.url.endsWith('.js') ? '.js' : '.ts'}`, import.meta.url).href;

/**
 * The PII hooks (src/hooks/pii/), loaded only when `pii.mode` is not off. The module's contract:
 * `createPiiHooks(config.pii, { vault, metrics, log })` and `createVault(config, redis?)` in vault.ts.
 * A build without them refuses to start rather than forward arguments it was told to protect.
 */
export async function loadPiiHooks(
  config: Config,
  deps: { metrics: Metrics; log: Logger; redis?: RedisClient; vault?: unknown },
): Promise<(PiiHooks & { vault: VaultLike }) | undefined> {
  if (config.pii.mode === 'off') return undefined;
  const pii = (await import(sibling('./pii/index'))) as PiiModule;
  const vaultModule = (await import(sibling('./pii/vault')).catch(() => ({}))) as VaultModule;
  if (typeof pii.createPiiHooks !== 'function' || typeof vaultModule.createVault !== 'function')
    throw new Error(`pii.mode "${config.pii.mode}" needs the PII hooks, which this build does not have`);
  // A reload keeps the vault it had: tokens already handed out keep resolving.
  const vault = (deps.vault ?? (await vaultModule.createVault(config, deps.redis))) as VaultLike;
  const hooks = pii.createPiiHooks(config.pii, { vault, metrics: deps.metrics, log: deps.log });
  if (!hooks) return undefined;
  return { ...hooks, vault };
}
