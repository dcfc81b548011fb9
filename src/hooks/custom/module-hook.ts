import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { HookRunner } from './runner.ts';
import type { HookCall, HookContext } from './types.ts';

/** A module hook that cannot be used: the file is missing, does not load, or exports no hook function. */
export class HookModuleError extends Error {
  override readonly name = 'HookModuleError';
}

/**
 * Imports the ES module of a module hook. The file's modification time goes into the import URL, so a
 * reload after the file changed imports it afresh (Node caches modules by URL) while an unchanged file
 * keeps its already-loaded instance and state.
 */
export async function importHookModule(path: string): Promise<HookRunner> {
  let version: number;
  try {
    version = (await stat(path)).mtimeMs;
  } catch {
    throw new HookModuleError(`module ${path} not found`);
  }
  const url = pathToFileURL(path);
  url.search = `?v=${Math.trunc(version)}`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url.href)) as Record<string, unknown>;
  } catch (err) {
    throw new HookModuleError(`module ${path} does not load: ${(err as Error).message}`);
  }
  // Named exports, or a default export object holding them.
  const from = (name: 'before' | 'after'): unknown =>
    mod[name] ?? (mod.default as Record<string, unknown> | undefined)?.[name];
  const before = from('before');
  const after = from('after');
  if (typeof before !== 'function' && typeof after !== 'function')
    throw new HookModuleError(`module ${path} exports neither a before nor an after function`);
  return {
    kind: 'module',
    handles: (phase) => typeof (phase === 'before' ? before : after) === 'function',
    async answer(request) {
      const call = frozen(request.call);
      const context = frozen(request.context);
      if (request.phase === 'before') return (before as BeforeFn)(call, context);
      return (after as AfterFn)(call, frozen(request.result ?? {}), context);
    },
    close: async () => {},
  };
}

type BeforeFn = (call: HookCall, context: HookContext) => unknown;
type AfterFn = (call: HookCall, result: Readonly<Record<string, unknown>>, context: HookContext) => unknown;

/** A deep-frozen copy: a hook can neither change what the proxy holds nor keep a live reference into it. */
function frozen<T>(value: T): T {
  return deepFreeze(structuredClone(value));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
