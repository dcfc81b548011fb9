import { formatPath } from '../../config/env.ts';
import type { HookConfig } from '../../config/schema.ts';
import { type CustomHookDeps, type LoadedHook, pipelineHooks } from './custom-hooks.ts';
import { HookModuleError, importHookModule } from './module-hook.ts';
import { remoteHook } from './remote-hook.ts';

export type { CustomHookDeps } from './custom-hooks.ts';
export { HookModuleError } from './module-hook.ts';

/** A hook's state for /readyz: a remote hook that refuses connections is `unreachable`. */
export interface HookStatus {
  name: string;
  kind: 'module' | 'remote';
  state: 'ok' | 'unreachable';
  onError: HookConfig['onError'];
}

/**
 * Loads `hooks:` (module paths already resolved against the config file): imports each module,
 * opens a keep-alive client per remote hook and probes it once (a remote hook that is down at
 * start-up is logged and listed by /readyz; its calls fail or pass per its `onError`).
 */
export async function loadCustomHooks(configs: readonly HookConfig[], deps: CustomHookDeps) {
  const loaded: LoadedHook[] = [];
  for (const config of configs) {
    const runner = config.module
      ? await importHookModule(config.module)
      : remoteHook({ url: config.url as string, headers: config.headers });
    loaded.push({ config, runner });
  }
  const reachable = new Map<string, boolean>();
  await Promise.all(
    loaded.map(async ({ config, runner }) => {
      if (!runner.reachable) return;
      const ok = await runner.reachable();
      reachable.set(config.name, ok);
      if (!ok) deps.log.warn({ hook: config.name, url: config.url }, 'remote hook unreachable at start-up');
    }),
  );
  return {
    ...pipelineHooks(loaded, deps),
    /** Each hook's state; a remote hook found unreachable is probed again (it may have come up). */
    async status(): Promise<HookStatus[]> {
      return Promise.all(
        loaded.map(async ({ config, runner }) => {
          if (reachable.get(config.name) === false && runner.reachable)
            reachable.set(config.name, await runner.reachable());
          const state = reachable.get(config.name) === false ? 'unreachable' : 'ok';
          return { name: config.name, kind: runner.kind, state, onError: config.onError } as HookStatus;
        }),
      );
    },
    async close() {
      await Promise.all(loaded.map((h) => h.runner.close()));
    },
  };
}

/** `mcp-fed check`: each module hook loads and exports a hook function. Problems as config paths. */
export async function checkHookModules(
  configs: readonly HookConfig[],
): Promise<{ path: string; message: string }[]> {
  const problems: { path: string; message: string }[] = [];
  for (const [i, config] of configs.entries()) {
    if (!config.module) continue;
    try {
      await importHookModule(config.module);
    } catch (err) {
      if (!(err instanceof HookModuleError)) throw err;
      problems.push({ path: formatPath(['hooks', i, 'module']), message: err.message });
    }
  }
  return problems;
}

export type CustomHooks = Awaited<ReturnType<typeof loadCustomHooks>>;
