import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parseDocument, type YAMLError } from 'yaml';
import type { z } from 'zod';
import { readCedarPolicies } from '../hooks/cedar/index.ts';
import { checkHookModules } from '../hooks/custom/index.ts';
import { type ConfigProblem, type Env, formatPath, interpolateEnv } from './env.ts';
import { type Config, ConfigSchema } from './schema.ts';

export type { ConfigProblem } from './env.ts';

export type ParseResult =
  | {
      ok: true;
      config: Config;
      /** Masks every secret of this config (env-derived values, keys, client secrets, header values). */
      redact: (text: string) => string;
    }
  | { ok: false; problems: ConfigProblem[] };

export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    source = 'config',
  ) {
    super(`invalid ${source}:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validates an already parsed config (after `${ENV}` interpolation) and fills in every default. */
export function parseConfig(raw: unknown, env: Env = process.env): ParseResult {
  const interpolated = interpolateEnv(raw ?? {}, env);
  const redact = redactor(collectSecrets(interpolated.value, interpolated.secrets));
  const data = withDefaultRegion(interpolated.value, env);
  const result = ConfigSchema.safeParse(data, { error: issueMessage });
  // A missing variable left an empty string behind; the schema's complaint about it would only be noise.
  const envPaths = new Set(interpolated.problems.map((p) => p.path));
  const schemaProblems = result.success ? [] : toProblems(result.error.issues, data);
  const problems = [...interpolated.problems, ...schemaProblems.filter((p) => !envPaths.has(p.path))];
  if (result.success && problems.length === 0) return { ok: true, config: result.data, redact };
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    return !seen.has(key) && Boolean(seen.add(key));
  });
  const ordered = sortByDocumentOrder(unique, data);
  return { ok: false, problems: ordered.map((p) => ({ path: p.path, message: redact(p.message) })) };
}

/**
 * Parses YAML (JSON is YAML too, so no sniffing is needed; a `.json` source is held to JSON's scalars)
 * and validates it. Syntax errors are located as `source:line:column`.
 */
export function parseConfigText(text: string, options: { source?: string; env?: Env } = {}): ParseResult {
  const { source, env = process.env } = options;
  const schema = source !== undefined && extname(source).toLowerCase() === '.json' ? 'json' : 'core';
  const doc = parseDocument(text, { schema, merge: schema === 'core', prettyErrors: true });
  if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map((e) => syntaxProblem(e, source)) };
  try {
    const result = parseConfig(doc.toJS({ maxAliasCount: 100 }), env);
    const base = source !== undefined && source !== CONFIG_YAML_SOURCE ? dirname(source) : process.cwd();
    return result.ok ? withCedarChecked(withHookPaths(result, base), base) : result;
  } catch (err) {
    return { ok: false, problems: [{ path: source ?? formatPath([]), message: (err as Error).message }] };
  }
}

/** An inline document (MCP_FED_CONFIG_YAML) has no directory of its own: paths are relative to the cwd. */
const CONFIG_YAML_SOURCE = 'MCP_FED_CONFIG_YAML';

/**
 * `policies.cedar`: its files resolved against the config file's directory, then read, parsed and
 * (with a schema) validated, so a policy error is a config problem located as `file:line:column`.
 */
function withCedarChecked(result: Extract<ParseResult, { ok: true }>, base: string): ParseResult {
  const cedar = result.config.policies.cedar;
  if (!cedar) return result;
  const at = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p));
  const resolved = { ...cedar, policies: at(cedar.policies), schema: at(cedar.schema) };
  if (resolved.policies === undefined) delete resolved.policies;
  if (resolved.schema === undefined) delete resolved.schema;
  result.config.policies.cedar = resolved;
  const read = readCedarPolicies(resolved);
  return read.ok ? result : { ok: false, problems: read.problems };
}

/** `hooks[].module` paths resolved against the config file's directory. */
function withHookPaths(result: Extract<ParseResult, { ok: true }>, base: string) {
  for (const h of result.config.hooks)
    if (h.module !== undefined && !isAbsolute(h.module)) h.module = resolve(base, h.module);
  return result;
}

/** Like {@link loadConfigFile} but returns the problems instead of throwing. */
export async function readConfigFile(path: string, env: Env = process.env): Promise<ParseResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : code;
    return { ok: false, problems: [{ path, message: `cannot read: ${reason ?? (err as Error).message}` }] };
  }
  const result = parseConfigText(text, { source: path, env });
  if (!result.ok || result.config.hooks.length === 0) return result;
  // A module hook must load and export a hook function: found here, `check` and `serve` alike refuse it.
  const problems = await checkHookModules(result.config.hooks);
  return problems.length === 0 ? result : { ok: false, problems };
}

/** Loads and validates a config file; throws {@link ConfigError} listing every problem. */
export async function loadConfigFile(path: string, env: Env = process.env): Promise<Config> {
  const result = await readConfigFile(path, env);
  if (!result.ok) throw new ConfigError(result.problems, path);
  return result.config;
}

const SEGMENT = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[]+)/g;

/** Problems in the order their places appear in the file, parents first, so the output reads top-down. */
function sortByDocumentOrder(problems: ConfigProblem[], data: unknown): ConfigProblem[] {
  const rank = (path: string): number[] => {
    let node = data;
    const out: number[] = [];
    const segments = path === formatPath([]) ? [] : [...path.matchAll(SEGMENT)];
    for (const [, index, quoted, plain] of segments) {
      const key = index !== undefined ? Number(index) : quoted !== undefined ? JSON.parse(quoted) : plain;
      const keys = node !== null && typeof node === 'object' ? Object.keys(node) : [];
      const at = keys.indexOf(String(key));
      out.push(at === -1 ? Number.MAX_SAFE_INTEGER : at);
      node = (node as Record<string, unknown> | undefined)?.[key];
    }
    return out;
  };
  const compare = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  };
  const ranked = problems.map((p) => ({ p, r: rank(p.path) }));
  return ranked.sort((x, y) => compare(x.r, y.r)).map(({ p }) => p);
}

function syntaxProblem(error: YAMLError, source: string | undefined): ConfigProblem {
  const pos = error.linePos?.[0];
  const where = pos ? `${pos.line}:${pos.col}` : '';
  const path = source === undefined ? where || formatPath([]) : where ? `${source}:${where}` : source;
  // The first line without its position; quoted source text is dropped because it may be a secret.
  const text = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return { path, message: `YAML syntax error: ${text.replace(/"[^"\n]*"/g, '(value)')}` };
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
};

// Messages name what is expected, never the value received: the value may be a secret.
function issueMessage(issue: z.core.$ZodRawIssue): string {
  const i = issue as z.core.$ZodRawIssue & Record<string, unknown>;
  const n = (key: string) => String(i[key]);
  const origin = i.origin === 'array' ? 'items' : i.origin === 'string' ? 'characters' : '';
  switch (issue.code) {
    case 'invalid_type': {
      const format = (i.inst as z.core.$ZodType | undefined)?._zod.def as { format?: string } | undefined;
      const kind = format?.format?.includes('int') ? 'int' : n('expected');
      const expected = TYPE_NAMES[kind] ?? kind;
      return i.input === undefined
        ? 'required'
        : `must be ${expected}${i.input === null ? ', not empty' : ''}`;
    }
    case 'invalid_value': {
      const values = (i.values as unknown[]).map(String);
      return values.length === 1 ? `must be ${values[0]}` : `must be one of: ${values.join(', ')}`;
    }
    case 'invalid_union': {
      if (typeof i.discriminator !== 'string') return 'does not match any allowed form';
      const input = i.input as Record<string, unknown> | undefined;
      if (input?.[i.discriminator] === undefined) return 'required';
      return `must be one of: ${((i.options as unknown[]) ?? []).map(String).join(', ')}`;
    }
    case 'too_small':
      if (i.minimum === 1 && origin !== '') return 'must not be empty';
      return i.inclusive === false
        ? `must be greater than ${n('minimum')}`
        : `must be at least ${n('minimum')} ${origin}`.trim();
    case 'too_big':
      return `must be at most ${n('maximum')} ${origin}`.trim();
    case 'invalid_format':
      return i.format === 'url'
        ? 'must be a URL'
        : i.format === 'regex'
          ? 'has the wrong format'
          : `must be a valid ${n('format')}`;
    case 'invalid_key':
      return 'has an invalid key';
    default:
      return 'is invalid';
  }
}

function toProblems(issues: readonly z.core.$ZodIssue[], data: unknown): ConfigProblem[] {
  return issues.flatMap((issue) => {
    const path = formatPath(issue.path);
    if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
    const known = keysAt(issue.path, data);
    return issue.keys.map((key) => {
      const guess = closest(key, known);
      return { path, message: `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}` };
    });
  });
}

type Def = {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  out?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  options?: z.core.$ZodType[];
  discriminator?: string;
  values?: unknown[];
};
const defOf = (s: z.core.$ZodType) => s._zod.def as unknown as Def;

/** The keys the schema allows at `path`, following the data through discriminated unions. */
function keysAt(path: readonly PropertyKey[], data: unknown): string[] {
  let schema: z.core.$ZodType | undefined = ConfigSchema;
  let node = data;
  let depth = 0;
  while (schema !== undefined) {
    const def = defOf(schema);
    if (def.innerType) schema = def.innerType;
    else if (def.type === 'pipe') schema = defOf(def.in!).type === 'transform' ? def.out : def.in;
    else if (def.discriminator !== undefined) {
      const tagKey = def.discriminator;
      const tag = (node as Record<string, unknown> | undefined)?.[tagKey];
      schema = def.options?.find((o) => {
        const literal = defOf(o).shape?.[tagKey];
        return literal !== undefined && defOf(literal).values?.includes(tag) === true;
      });
    } else if (depth === path.length) return Object.keys(def.shape ?? {});
    else {
      const key = path[depth++]!;
      node = (node as Record<PropertyKey, unknown> | undefined)?.[key];
      schema = def.shape?.[String(key)] ?? def.element ?? def.valueType;
    }
  }
  return [];
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 3));
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate);
    if (d <= bestDistance) [best, bestDistance] = [candidate, d - 1];
  }
  return best;
}

function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

// sigv4's region falls back to AWS_REGION, like the AWS SDK's own default chain.
function withDefaultRegion(data: unknown, env: Env): unknown {
  const upstreams = (data as { upstreams?: unknown } | null)?.upstreams;
  if (!Array.isArray(upstreams) || !env.AWS_REGION) return data;
  for (const u of upstreams) {
    const up = u as { auth?: Record<string, unknown>; catalogAuth?: Record<string, unknown> } | null;
    for (const auth of [up?.auth, up?.catalogAuth])
      if (auth?.kind === 'sigv4' && auth.region === undefined) auth.region = env.AWS_REGION;
  }
  return data;
}

const SECRET_KEYS = new Set([
  'clientSecret',
  'key',
  'vaultKey',
  'requestStateKey',
  'assertionKey',
  'auditKey',
]);
const SECRET_MAPS = new Set(['headers', 'env']);

function collectSecrets(node: unknown, into: Set<string>, key = '', inMap = false): Set<string> {
  if (typeof node === 'string') {
    if (inMap || SECRET_KEYS.has(key)) into.add(node);
    else if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(node)) {
      const password = URL.canParse(node) ? decodeURIComponent(new URL(node).password) : '';
      if (password !== '') into.add(password);
    }
  } else if (Array.isArray(node)) for (const item of node) collectSecrets(item, into, key);
  else if (node !== null && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) collectSecrets(v, into, k, SECRET_MAPS.has(key));
  return into;
}

function redactor(secrets: Set<string>): (text: string) => string {
  // Longest first, so a secret that contains another is masked whole.
  const list = [...secrets].filter((s) => s !== '').sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const s of list)
      out = out.split(s.length >= 4 ? s : JSON.stringify(s)).join(s.length >= 4 ? '***' : '"***"');
    return out;
  };
}
