import type { Config } from '../config/schema.ts';
import { configVersion } from '../config/version.ts';
import type { Logger } from '../log.ts';
import type { CallObserver } from '../router/federation.ts';
import type { EntryAccess } from '../router/visible-lists.ts';
import type { RedisClient } from '../store/redis-client.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { ListKind } from '../upstream/upstream-lists.ts';
import { Acl, aclHook } from './acl.ts';
import { auditKey } from './audit/chain.ts';
import { type AuditLog, createAuditLog } from './audit/index.ts';
import { type CedarAuthorizer, cedarHook, loadCedar } from './cedar/index.ts';
import type { CedarAction } from './cedar/policy-set.ts';
import { type HookStatus, loadCustomHooks } from './custom/index.ts';
import type { TokenVault } from './pii/index.ts';
import { restoreOwnTokens } from './pii/post-hook.ts';
import { loadPiiHooks } from './pii-loader.ts';
import { HookPipeline, type PostHook, type PreHook } from './pipeline.ts';
import {
  LeasedWindowStore,
  MemoryWindowStore,
  RedisWindowStore,
  rateLimitHook,
  type WindowStore,
} from './rate-limit/index.ts';

/** Everything governance adds to the request path, built once per process from the config. */
export interface Governance {
  pipeline: HookPipeline;
  /** Call observers for Federation.observe (the audit log). */
  observers: CallObserver[];
  /** Per-caller visibility for Federation.list (ACL and Cedar); undefined when neither is on. */
  entryAccess: EntryAccess | undefined;
  /** Flushes the audit log and releases what governance opened (not the shared Redis client). */
  close(): Promise<void>;
  /** After a reload replaced it: releases what its successor did not take over. */
  retire(): Promise<void>;
  /** What a successor takes over on reload. */
  readonly kept: Kept;
  /** Whether the store governance depends on answers (/readyz). */
  ready(): Promise<boolean>;
  /** Your own hooks and whether each remote one is reachable (/readyz). */
  hookStatus(): Promise<HookStatus[]>;
}

export interface GovernanceDeps {
  metrics: Metrics;
  log: Logger;
  /** The process's one Redis client, when `store.kind` is redis. */
  redis?: RedisClient;
  /** `mcp-fed stdio`: stdout is the protocol, so no audit record may go there. */
  stdoutIsProtocol?: boolean;
}

const PING_TIMEOUT_MS = 1_000;

/** What outlives a reload: rate windows, the PII vault, the audit log (while its settings hold) and its key. */
interface Kept {
  windows?: WindowStore;
  vault?: TokenVault;
  audit?: { settings: string; log: AuditLog };
  auditKey?: Buffer;
}

const LIST_ACTION: Record<ListKind, CedarAction> = {
  tools: 'tools/call',
  prompts: 'prompts/get',
  resources: 'resources/read',
  resourceTemplates: 'resources/read',
};

/** Lists show an entry when the ACL allows its name and Cedar does not deny it whatever the arguments. */
function entryAccess(acl: Acl, cedar: CedarAuthorizer | undefined): EntryAccess | undefined {
  if (!acl.active && !cedar) return undefined;
  return (caller, kind, name, route) => {
    if (acl.active && !acl.allows(caller, name)) return false;
    if (!cedar) return true;
    const r = route();
    return cedar.listable({
      caller,
      action: LIST_ACTION[kind],
      name,
      upstream: r?.upstream.name ?? '',
      upstreamName: r?.name ?? '',
      annotations: r?.annotations,
    });
  };
}

/**
 * Assembles the hook pipeline in its fixed order, pre: ACL (cheapest, and a denied call must not
 * count against a rate limit), Cedar, rate limit, PII, your hooks; post: your hooks (reverse), PII. The audit log observes every call,
 * denied ones included.
 */
export async function buildGovernance(
  config: Config,
  deps: GovernanceDeps,
  /** The governance a reload replaces: its stores and (same settings) audit log carry over. */
  previous?: Governance,
): Promise<Governance> {
  const { log, metrics, redis } = deps;
  if (config.store.kind === 'redis' && !redis) throw new Error('store.kind redis needs a Redis client');
  const pre: PreHook[] = [];
  const post: PostHook[] = [];
  const closers: (() => Promise<void>)[] = [];

  const acl = new Acl(config.policies.acl);
  if (acl.active) pre.push(aclHook(acl));
  // Cedar after the glob ACL (both must allow), before the rate limit: a denied call counts against nothing.
  const cedar = config.policies.cedar ? loadCedar(config.policies.cedar, log) : undefined;
  const cedarPre = cedar && cedarHook(cedar);
  if (cedarPre) pre.push(cedarPre);
  if (cedar) closers.push(() => cedar.close());

  // Stores outlive a reload (counters and tokens survive it): taken over from the governance replaced.
  const kept: Kept = previous?.kept ?? {};
  if (config.policies.rateLimits.length > 0) {
    // On Redis, replicas lease units of a window and spend them locally (no round trip per call).
    kept.windows ??= redis ? new LeasedWindowStore(new RedisWindowStore(redis)) : new MemoryWindowStore();
    const keyPrefix = config.store.kind === 'redis' ? config.store.keyPrefix : '';
    pre.push(rateLimitHook(config.policies.rateLimits, kept.windows, { keyPrefix, log }));
  }

  const pii = await loadPiiHooks(config, { metrics, log, redis, vault: kept.vault });
  if (pii) {
    kept.vault = pii.vault as TokenVault;
    pre.push(pii.pre);
  }

  // Your own hooks see what PII left: tokens going up, upstream-held PII masked coming down; after
  // them (in reverse order) the PII post hook scans their output and restores the caller's values.
  const piiPost = pii?.post;
  const custom =
    config.hooks.length > 0
      ? await loadCustomHooks(config.hooks, {
          metrics,
          log,
          recheck: [cedarPre, pii?.pre].filter((h): h is PreHook => h !== undefined),
          mask: (value) => (piiPost?.passing ? piiPost.passing(value, undefined) : value),
          restore: (value, ctx) => restoreOwnTokens(value, ctx.minted),
        })
      : undefined;
  if (custom) {
    pre.push(...custom.pre);
    post.push(...custom.post);
    closers.push(() => custom.close());
  }
  if (piiPost) post.push(piiPost);

  // The audit log too, while its settings stay the same: one chain, no second writer on the file.
  const auditSettings = JSON.stringify(config.audit);
  let audit = previous?.kept.audit?.settings === auditSettings ? previous.kept.audit.log : undefined;
  if (!audit && config.audit.sink !== 'off') {
    // Generated (and warned about) once per process: a new audit file after a reload keeps the key.
    const { key, generated } = kept.auditKey
      ? { key: kept.auditKey, generated: false }
      : auditKey(config.secrets.auditKey);
    kept.auditKey = key;
    if (generated)
      log.warn(
        'secrets.auditKey is not set: a key generated for this process signs the audit chain (its hashes compare within this process only; `audit verify` cannot check them)',
      );
    audit = createAuditLog(config.audit, {
      log,
      stdoutIsProtocol: deps.stdoutIsProtocol,
      record: { key, configVersion: configVersion(config), cedar: cedar !== undefined },
    });
  }
  kept.audit = audit ? { settings: auditSettings, log: audit } : undefined;
  const observers: CallObserver[] = audit ? [audit.observe] : [];

  return {
    pipeline: new HookPipeline(pre, post),
    observers,
    entryAccess: entryAccess(acl, cedar),
    hookStatus: async () => (custom ? custom.status() : []),
    kept,
    async retire() {
      // Replaced by a reload: what the successor took over (`kept`, shared with it) stays open.
      await Promise.allSettled(closers.map((c) => c()));
      if (audit && kept.audit?.log !== audit) await audit.close();
    },
    async close() {
      // The audit log last: hooks closing may still finish calls that it must record.
      await Promise.allSettled(closers.map((c) => c()));
      await Promise.allSettled([kept.windows?.close(), kept.vault?.close()]);
      await audit?.close();
    },
    async ready() {
      if (!redis) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
      });
      const ping = redis.ping().then(
        (r) => r === 'PONG',
        () => false,
      );
      try {
        return await Promise.race([ping, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
