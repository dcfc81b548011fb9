import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { App, ReloadResult } from '../app.ts';
import type { Logger } from '../log.ts';
import { type ConfigSource, readConfigSource } from './load-source.ts';

/** Edits arrive in bursts (an editor writes, renames, touches): one reload per quiet spell. */
const DEBOUNCE_MS = 300;

/**
 * Re-reads the config on SIGHUP and, with `watch`, when the config file or a module hook's file
 * changes (debounced). An invalid config is refused (each problem logged with its path, the running
 * config kept, `mcp_fed_config_reloads_total{result="refused"}`); a valid one goes to `app.reload`.
 * Returns a function that stops listening.
 */
export function handleReloads(
  source: ConfigSource,
  app: App,
  log: Logger,
  opts: { watch?: boolean } = {},
): { reload(): Promise<ReloadResult>; stop(): void } {
  const reload = async (): Promise<ReloadResult> => {
    const read = await readConfigSource(source);
    if (!read.ok) {
      app.reloadRefused(read.problems);
      return { ok: false, problems: read.problems };
    }
    const result = await app.reload(read.config);
    if (opts.watch) rewatch();
    return result;
  };
  const onHup = () => {
    log.info('SIGHUP: reloading the config');
    void reload();
  };
  process.on('SIGHUP', onHup);

  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      log.info('config or hook file changed: reloading');
      void reload();
    }, DEBOUNCE_MS);
  };
  // A directory watch sees a file replaced by rename (how most editors save), which a file watch loses.
  const rewatch = () => {
    for (const w of watchers.splice(0)) w.close();
    const files = [
      ...(source.kind === 'file' ? [resolve(source.path)] : []),
      ...app.config.hooks.flatMap((h) => (h.module ? [h.module] : [])),
    ];
    const byDir = new Map<string, Set<string>>();
    for (const f of files) byDir.set(dirname(f), (byDir.get(dirname(f)) ?? new Set()).add(basename(f)));
    for (const [dir, names] of byDir) {
      try {
        watchers.push(watch(dir, (_event, name) => name && names.has(String(name)) && changed()));
      } catch (err) {
        log.warn({ dir, err: (err as Error).message }, 'cannot watch for config changes');
      }
    }
  };
  if (opts.watch) rewatch();

  return {
    reload,
    stop() {
      process.off('SIGHUP', onHup);
      clearTimeout(timer);
      for (const w of watchers.splice(0)) w.close();
    },
  };
}
