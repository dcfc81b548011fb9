import { readFile } from 'node:fs/promises';
import type { Env } from '../../config/env.ts';
import { readConfigFile } from '../../config/load.ts';
import { verifyAuditText } from './chain.ts';

export interface VerifyOptions {
  file: string;
  config?: string;
  expectLast?: string;
  env?: Env;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

/**
 * `mcp-fed audit verify FILE [--config F] [--expect-last HASH]`: walks the file's hash chain with the
 * key from the config's `secrets.auditKey`, else MCP_FED_AUDIT_KEY. Exit 0 with the count verified and
 * the last hash; 1 naming the first line altered, removed or reordered; 2 when it cannot check.
 */
export async function runAuditVerify(opts: VerifyOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const env = opts.env ?? process.env;
  let secret = env.MCP_FED_AUDIT_KEY;
  if (opts.config) {
    const read = await readConfigFile(opts.config, env);
    if (!read.ok) {
      err(read.problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
      return 2;
    }
    secret = read.config.secrets.auditKey ?? secret;
  }
  if (!secret) {
    err('audit verify needs the audit key: --config FILE with secrets.auditKey, or MCP_FED_AUDIT_KEY');
    return 2;
  }
  let text: string;
  try {
    text = await readFile(opts.file, 'utf8');
  } catch (e) {
    err(`${opts.file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 2;
  }
  const result = verifyAuditText(text, Buffer.from(secret, 'utf8'), opts.expectLast);
  if (!result.ok) {
    err(`${opts.file}:${result.line}: ${result.problem}`);
    return 1;
  }
  out(
    `ok: ${result.count} line${result.count === 1 ? '' : 's'} verified, last hash ${result.last || '(none)'}`,
  );
  return 0;
}
