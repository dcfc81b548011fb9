/** A problem found in a config file, located by its path in the file (`upstreams[1].auth.region`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

export interface Interpolated {
  value: unknown;
  problems: ConfigProblem[];
  /** Every value substituted from the environment: callers must never print these. */
  secrets: Set<string>;
}

const ROOT = '(root)';
const PLAIN_KEY = /^[A-Za-z_][\w-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// `$${` first so an escaped reference is never read as a reference; a bare `${` catches unterminated ones.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;

/** Formats a zod-style path as written in the file: dots between keys, array indexes in brackets. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && PLAIN_KEY.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out === '' ? ROOT : out;
}

/**
 * Replaces `${NAME}` in every string value (not in keys) with the environment's value.
 * `$${` stands for a literal `${`. A reference to an unset variable is a problem at that string's path;
 * messages name the variable, never a value.
 */
export function interpolateEnv(raw: unknown, env: Env): Interpolated {
  const problems: ConfigProblem[] = [];
  const secrets = new Set<string>();

  const expand = (text: string, path: PropertyKey[]): string =>
    text.replace(REFERENCE, (match: string, name: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined || !ENV_NAME.test(name)) {
        problems.push({
          path: formatPath(path),
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the message shows the config file's syntax
          message: 'invalid ${...} reference: use ${NAME} with NAME of [A-Za-z0-9_], or $${ for a literal ${',
        });
        return '';
      }
      const value = env[name];
      if (value === undefined) {
        problems.push({ path: formatPath(path), message: `environment variable ${name} is not set` });
        return '';
      }
      if (value !== '') secrets.add(value);
      return value;
    });

  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') return node.includes('${') ? expand(node, path) : node;
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) out[key] = walk(item, [...path, key]);
      return out;
    }
    return node;
  };

  return { value: walk(raw, []), problems, secrets };
}
