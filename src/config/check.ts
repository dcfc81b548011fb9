import type { ConfigProblem, Env } from './env.ts';
import { readConfigFile } from './load.ts';

/** One line per problem, `path: message`, in the order found. Problems carry no secret values. */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}

export interface CheckOptions {
  env?: Env;
  /** Receives the summary of a valid config (default: stdout). */
  out?: (line: string) => void;
  /** Receives the problems (default: stderr). */
  err?: (line: string) => void;
}

/** `mcp-fed check --config FILE`: prints a summary or every problem; resolves to the exit code. */
export async function runCheck(path: string, options: CheckOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const err = options.err ?? ((line: string) => process.stderr.write(`${line}\n`));
  const result = await readConfigFile(path, options.env ?? process.env);
  if (!result.ok) {
    err(formatProblems(result.problems));
    return 1;
  }
  const names = result.config.upstreams.map((u) => u.name);
  const count = `${names.length} upstream${names.length === 1 ? '' : 's'}`;
  out(result.redact(names.length === 0 ? `ok: ${count}` : `ok: ${count} (${names.join(', ')})`));
  return 0;
}
