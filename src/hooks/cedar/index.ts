import { readFileSync } from 'node:fs';
import type { ConfigProblem } from '../../config/env.ts';
import type { CedarConfig } from '../../config/schema.ts';
import { ProxyError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { McpCall, Outcome, PreHook } from '../pipeline.ts';
import { CedarAuthorizer, type CedarDecision } from './authorizer.ts';
import { type ParsedPolicy, type PolicySource, parsePolicies, validateAgainstSchema } from './policy-set.ts';

export { CedarAuthorizer } from './authorizer.ts';

const INLINE = 'policies.cedar.inline';

function read(path: string): PolicySource | ConfigProblem {
  try {
    return { source: path, text: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      path,
      message: `cannot read: ${code === 'ENOENT' ? 'file not found' : (code ?? (err as Error).message)}`,
    };
  }
}

const isProblem = (x: PolicySource | ConfigProblem): x is ConfigProblem => 'message' in x;

/**
 * Reads, parses and (with a schema) validates `policies.cedar`: the policies, or every problem located
 * as `file:line:column` (what `mcp-fed check` prints and what refuses a start). Paths are as the config
 * loader resolved them.
 */
export function readCedarPolicies(
  config: CedarConfig,
): { ok: true; policies: ParsedPolicy[] } | { ok: false; problems: ConfigProblem[] } {
  const src =
    config.inline !== undefined ? { source: INLINE, text: config.inline } : read(config.policies ?? '');
  if (isProblem(src)) return { ok: false, problems: [src] };
  const parsed = parsePolicies(src);
  if (!parsed.ok) return parsed;
  if (config.schema !== undefined) {
    const schema = read(config.schema);
    if (isProblem(schema)) return { ok: false, problems: [schema] };
    const problems = validateAgainstSchema(src, parsed.policies, schema);
    if (problems.length) return { ok: false, problems };
  }
  return parsed;
}

/** Builds the authorizer of `policies.cedar`; throws on a problem (the caller refuses to start). */
export function loadCedar(config: CedarConfig, log: Logger): CedarAuthorizer {
  const read = readCedarPolicies(config);
  if (!read.ok)
    throw new Error(
      `invalid Cedar policies:\n${read.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`,
    );
  return new CedarAuthorizer(read.policies, log);
}

/**
 * The call-time half of Cedar (after the glob ACL allowed): a deny is ACL_DENIED with the deciding
 * policy ids; every decision's ids go to the audit record.
 */
export function cedarHook(authz: CedarAuthorizer): PreHook {
  return {
    name: 'cedar',
    before(call, ctx) {
      const args = call.method === 'resources/read' ? undefined : call.params.arguments;
      const decided = authz.decide({
        caller: ctx.caller,
        action: call.method,
        name: call.publicName,
        upstream: call.upstream,
        upstreamName: call.upstreamName,
        annotations: call.annotations,
        arguments: args !== null && typeof args === 'object' ? (args as Record<string, unknown>) : undefined,
        hops: ctx.hops,
        era: ctx.era,
      });
      return decided instanceof Promise ? decided.then(outcome) : outcome(decided);

      function outcome(decision: CedarDecision): Outcome<McpCall> {
        ctx.policyIds = decision.policyIds;
        if (decision.allow) return { kind: 'pass' };
        const what =
          call.method === 'resources/read'
            ? 'read this resource'
            : `use ${call.method === 'tools/call' ? 'tool' : 'prompt'} "${call.publicName}"`;
        const data: Record<string, unknown> = { policyIds: decision.policyIds };
        if (call.method !== 'resources/read') data.name = call.publicName;
        return {
          kind: 'reject',
          decision: 'deny_acl',
          error: new ProxyError(
            'ACL_DENIED',
            `caller "${ctx.caller.id}" is not allowed to ${what} (Cedar)`,
            data,
          ),
        };
      }
    },
  };
}
