import type { DetailedError, EntityUidJson, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { ConfigProblem } from '../../config/env.ts';

export const NS = 'McpFed';
export const ACTIONS = ['tools/call', 'prompts/get', 'resources/read'] as const;
export type CedarAction = (typeof ACTIONS)[number];
export type ResourceType = 'Tool' | 'Prompt' | 'Resource';
export const RESOURCE_TYPE: Record<CedarAction, ResourceType> = {
  'tools/call': 'Tool',
  'prompts/get': 'Prompt',
  'resources/read': 'Resource',
};

/** One policy of the set, as parsed at load. */
export interface ParsedPolicy {
  /** Its `@id` annotation, else `policy<N>` by position in the file. */
  id: string;
  effect: 'permit' | 'forbid';
  text: string;
  json: PolicyJson;
  /** Whether the policy can apply to a request for this action and resource (its scope, statically). */
  applies(action: CedarAction, type: ResourceType, id: string): boolean;
}

export interface PolicySource {
  /** Where it came from, for problems: a file path, or `policies.cedar.inline`. */
  source: string;
  text: string;
}

export type ParsedSet = { ok: true; policies: ParsedPolicy[] } | { ok: false; problems: ConfigProblem[] };

/** `source:line:column` of a character offset in `text`. */
export function locate(source: string, text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `${source}:${line}:${column}`;
}

function problemsOf(errors: DetailedError[], src: PolicySource, base = 0): ConfigProblem[] {
  return errors.map((e) => {
    const at = e.sourceLocations?.[0];
    const path = at ? locate(src.source, src.text, base + at.start) : src.source;
    const detail = at?.label ? ` (${at.label})` : '';
    return { path, message: `Cedar: ${e.message}${detail}` };
  });
}

/**
 * Parses a policy file: ids from `@id` (unique), effects and scopes read once, so a call evaluates
 * only the policies whose scope can match it. Templates (slots) are refused: nothing links them.
 */
export function parsePolicies(src: PolicySource): ParsedSet {
  const check = cedar.checkParsePolicySet({ staticPolicies: src.text });
  if (check.type === 'failure') return { ok: false, problems: problemsOf(check.errors, src) };
  const parts = cedar.policySetTextToParts(src.text);
  if (parts.type === 'failure') return { ok: false, problems: problemsOf(parts.errors, src) };
  if (parts.policy_templates.length > 0)
    return {
      ok: false,
      problems: [
        { path: src.source, message: 'Cedar: policy templates (?principal, ?resource) are not supported' },
      ],
    };
  const problems: ConfigProblem[] = [];
  const policies: ParsedPolicy[] = [];
  const ids = new Set<string>();
  let from = 0;
  parts.policies.forEach((text, i) => {
    // Parts come back in file order with their source text; find each to locate its problems.
    const at = src.text.indexOf(text, from);
    if (at >= 0) from = at + text.length;
    const json = cedar.policyToJson(text);
    if (json.type === 'failure') {
      problems.push(...problemsOf(json.errors, src, Math.max(at, 0)));
      return;
    }
    const id = json.json.annotations?.id ?? `policy${i}`;
    if (ids.has(id)) {
      problems.push({
        path: locate(src.source, src.text, Math.max(at, 0)),
        message: `Cedar: @id("${id}") is used twice`,
      });
      return;
    }
    ids.add(id);
    policies.push({ id, effect: json.json.effect, text, json: json.json, applies: scopeMatcher(json.json) });
  });
  return problems.length ? { ok: false, problems } : { ok: true, policies };
}

/** Checks the policies against a Cedar schema (text or JSON); each violation located in the policy file. */
export function validateAgainstSchema(
  src: PolicySource,
  policies: ParsedPolicy[],
  schema: PolicySource,
): ConfigProblem[] {
  const parsedSchema = cedar.checkParseSchema(schemaValue(schema.text));
  if (parsedSchema.type === 'failure') return problemsOf(parsedSchema.errors, schema);
  const byId = Object.fromEntries(policies.map((p) => [p.id, p.text]));
  const answer = cedar.validate({ schema: schemaValue(schema.text), policies: { staticPolicies: byId } });
  if (answer.type === 'failure') return problemsOf(answer.errors, schema);
  return answer.validationErrors.map((v) => {
    const policy = policies.find((p) => p.id === v.policyId);
    const at = policy ? src.text.indexOf(policy.text) : -1;
    const loc = v.error.sourceLocations?.[0];
    const path = at >= 0 ? locate(src.source, src.text, at + (loc?.start ?? 0)) : src.source;
    return { path, message: `Cedar schema: policy "${v.policyId}": ${v.error.message}` };
  });
}

/** A schema file: Cedar's own syntax, or its JSON form. */
function schemaValue(text: string): cedar.Schema {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(text) as cedar.Schema;
    } catch {
      // Not JSON after all: the Cedar parser says what is wrong.
    }
  }
  return text;
}

function uidOf(e: EntityUidJson): { type: string; id: string } {
  return '__entity' in e ? e.__entity : e;
}

function scopeMatcher(p: PolicyJson): ParsedPolicy['applies'] {
  const action = p.action;
  const actionIds: Set<string> | undefined =
    action.op === 'All'
      ? undefined
      : action.op === '=='
        ? new Set('entity' in action ? [uidOf(action.entity).id] : [])
        : new Set(('entities' in action ? action.entities : [action.entity]).map((e) => uidOf(e).id));
  const actionOk = (a: string) => !actionIds || actionIds.has(a);
  const r = p.resource;
  const typeName = (t: ResourceType) => `${NS}::${t}`;
  let resourceOk: (type: ResourceType, id: string) => boolean = () => true;
  if (r.op === '==' || r.op === 'in') {
    // Resources have no parents here: `in X` holds only for X itself.
    const e = 'entity' in r ? uidOf(r.entity) : undefined;
    resourceOk = (t, id) => e !== undefined && e.type === typeName(t) && e.id === id;
  } else if (r.op === 'is') {
    const inner = r.in && 'entity' in r.in ? uidOf(r.in.entity) : undefined;
    resourceOk = (t, id) =>
      r.entity_type === typeName(t) && (!inner || (inner.type === typeName(t) && inner.id === id));
  }
  return (a, t, id) => actionOk(a) && resourceOk(t, id);
}
