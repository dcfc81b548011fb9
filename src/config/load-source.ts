import { formatProblems, runCheck } from './check.ts';
import type { Env } from './env.ts';
import { ConfigError, type ParseResult, parseConfigText, readConfigFile } from './load.ts';
import type { Config } from './schema.ts';

/** The config document itself (YAML or JSON), for platforms where mounting a file is awkward. */
export const CONFIG_YAML_ENV = 'MCP_FED_CONFIG_YAML';
/** Path of the config file. */
export const CONFIG_PATH_ENV = 'MCP_FED_CONFIG';

export type ConfigSource = { kind: 'file'; path: string } | { kind: 'inline'; text: string };

/**
 * Where the config comes from: `--config FILE` wins, then an inline document in MCP_FED_CONFIG_YAML, then
 * the path in MCP_FED_CONFIG. The inline document outranks the path because an image names its baked-in
 * file in MCP_FED_CONFIG, and `-e MCP_FED_CONFIG_YAML=...` must still replace it. Empty values count as unset.
 */
export function configSource(flag: string | undefined, env: Env = process.env): ConfigSource | undefined {
  if (flag) return { kind: 'file', path: flag };
  const text = env[CONFIG_YAML_ENV];
  if (text !== undefined && text.trim() !== '') return { kind: 'inline', text };
  const path = env[CONFIG_PATH_ENV];
  if (path) return { kind: 'file', path };
  return undefined;
}

/** Reads and validates the config of `source`; problems of an inline document are located as `MCP_FED_CONFIG_YAML:line:col`. */
export function readConfigSource(source: ConfigSource, env: Env = process.env): Promise<ParseResult> {
  return source.kind === 'file'
    ? readConfigFile(source.path, env)
    : Promise.resolve(parseConfigText(source.text, { source: CONFIG_YAML_ENV, env }));
}

/** Like {@link readConfigSource}, but throws {@link ConfigError} listing every problem. */
export async function loadConfigSource(source: ConfigSource, env: Env = process.env): Promise<Config> {
  const result = await readConfigSource(source, env);
  if (!result.ok)
    throw new ConfigError(result.problems, source.kind === 'file' ? source.path : CONFIG_YAML_ENV);
  return result.config;
}

/** `mcp-fed check` for either kind of source, with the output of {@link runCheck}. */
export async function checkConfigSource(source: ConfigSource, env: Env = process.env): Promise<number> {
  if (source.kind === 'file') return runCheck(source.path, { env });
  const result = await readConfigSource(source, env);
  if (!result.ok) {
    process.stderr.write(`${formatProblems(result.problems)}\n`);
    return 1;
  }
  const names = result.config.upstreams.map((u) => u.name);
  const count = `${names.length} upstream${names.length === 1 ? '' : 's'}`;
  process.stdout.write(
    `${result.redact(names.length === 0 ? `ok: ${count}` : `ok: ${count} (${names.join(', ')})`)}\n`,
  );
  return 0;
}
