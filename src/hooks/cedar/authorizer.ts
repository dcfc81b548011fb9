import type {
  AuthorizationAnswer,
  CedarValueJson,
  Context,
  EntityJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../../log.ts';
import type { Caller } from '../pipeline.ts';
import { CedarOffThread, OFF_THREAD_BYTES } from './off-thread.ts';
import { type CedarAction, NS, type ParsedPolicy, RESOURCE_TYPE, type ResourceType } from './policy-set.ts';
import { addReads, noReads, type PolicyReads, type Reads } from './reads.ts';
import { datetime, jsonLongerThan, MAX_ARGUMENT_BYTES, toCedar } from './values.ts';

/** MCP's defaults for tool annotations the upstream left out (DESIGN.md). */
const ANNOTATION_DEFAULTS = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

/** What a decision is about. */
export interface CedarRequest {
  caller: Caller;
  action: CedarAction;
  /** Public tool/prompt name or public resource URI. */
  name: string;
  upstream: string;
  upstreamName: string;
  annotations?: Record<string, unknown>;
  arguments?: Record<string, unknown>;
  hops: number;
  era: 'modern' | 'legacy';
}

export interface CedarDecision {
  allow: boolean;
  /** The policies that decided (`[]` for a default deny). */
  policyIds: string[];
}

/** The policies that can apply to one (action, resource), preparsed once under their own id. */
interface Slice {
  setId: string;
  policies: ParsedPolicy[];
  /** The slice's policies by id, as cedar-wasm takes them (preparsed once; partial evaluation reads it). */
  byId: Record<string, string>;
  reads: PolicyReads;
  effects: Map<string, 'permit' | 'forbid'>;
  /**
   * Decisions by entity projection, for a slice whose policies read nothing of the context (group
   * allowlists, annotation rules): the same caller facts and resource facts give the same decision.
   */
  decided?: LRUCache<string, CedarDecision>;
}

const MAX_DECISIONS = 10_000;

let nextSetId = 0;
const MAX_RESOURCES = 10_000;

/**
 * Cedar decisions over a policy set parsed once per config load. Each (action, resource) gets the
 * slice of policies whose scope can match it, preparsed in the wasm module under its own id (slices
 * with the same policies share one); a decision passes only the entities and attributes that slice
 * reads. A `forbid` that errors denies; a `permit` that errors does not match (DESIGN.md).
 */
export class CedarAuthorizer {
  private readonly slices = new Map<string, Slice>();
  private readonly byResource = new LRUCache<string, Slice>({ max: MAX_RESOURCES });
  private readonly generation = ++nextSetId;
  private readonly offThread = new CedarOffThread();

  constructor(
    private readonly policies: readonly ParsedPolicy[],
    private readonly log: Logger,
  ) {}

  /**
   * The decision for one call. Synchronous, except when the arguments are large (over 8 KiB as JSON)
   * and the slice reads them: then the worker thread evaluates it, so converting them for cedar-wasm
   * (milliseconds near the 64 KiB cap) never holds other calls.
   */
  decide(req: CedarRequest, now = Date.now()): CedarDecision | Promise<CedarDecision> {
    const type = RESOURCE_TYPE[req.action];
    const slice = this.slice(req.action, type, req.name);
    if (slice.policies.length === 0) return { allow: false, policyIds: [] };
    const call = {
      principal: { type: `${NS}::Caller`, id: req.caller.id },
      action: { type: `${NS}::Action`, id: req.action },
      resource: { type: `${NS}::${type}`, id: req.name },
      context: this.context(req, slice.reads, now),
      entities: this.entities(req, type, slice.reads),
    };
    // A slice that reads no context decides on the entities alone: once per distinct projection.
    const key = slice.decided && `${req.caller.id}\0${req.name}\0${JSON.stringify(call.entities)}`;
    const known = key ? slice.decided?.get(key) : undefined;
    if (known) return known;
    const big =
      call.context.arguments !== undefined &&
      req.arguments &&
      jsonLongerThan(req.arguments, OFF_THREAD_BYTES);
    if (big)
      return this.offThread.evaluate({ setId: slice.setId, byId: slice.byId, call }).then(
        (answer) => this.judged(answer, slice),
        (err: Error) => {
          this.log.warn({ err: err.message }, 'Cedar worker failed: denied');
          return { allow: false, policyIds: [] };
        },
      );
    const decision = this.judged(
      cedar.statefulIsAuthorized({ ...call, preparsedPolicySetId: slice.setId }),
      slice,
    );
    if (key) slice.decided?.set(key, decision);
    return decision;
  }

  /** Stops the worker thread, if one was started. */
  close(): Promise<void> {
    return this.offThread.close();
  }

  /** An answer of cedar-wasm as DESIGN.md reads it: an erroring forbid denies, an erroring permit does not match. */
  private judged(answer: AuthorizationAnswer, slice: Slice): CedarDecision {
    if (answer.type === 'failure') {
      this.log.warn(
        { errors: answer.errors.map((e) => masked(e.message)) },
        'Cedar evaluation failed: denied',
      );
      return { allow: false, policyIds: [] };
    }
    const { decision, diagnostics } = answer.response;
    const erroredForbids: string[] = [];
    for (const e of diagnostics.errors) {
      this.log.warn({ policy: e.policyId, err: masked(e.error.message) }, 'Cedar policy failed to evaluate');
      if (slice.effects.get(e.policyId) === 'forbid') erroredForbids.push(e.policyId);
    }
    if (erroredForbids.length > 0) {
      const forbids = diagnostics.reason.filter((id) => slice.effects.get(id) === 'forbid');
      return { allow: false, policyIds: [...forbids, ...erroredForbids] };
    }
    return { allow: decision === 'allow', policyIds: [...diagnostics.reason] };
  }

  /**
   * Whether a list entry is shown to `caller`: unless Cedar denies it whatever the call's context
   * (partial evaluation with `context` unknown). Errors that do not depend on the context count as
   * at call time: an erroring `forbid` hides the entry.
   */
  listable(req: Omit<CedarRequest, 'arguments' | 'hops' | 'era'>): boolean {
    const type = RESOURCE_TYPE[req.action];
    const slice = this.slice(req.action, type, req.name);
    if (slice.policies.length === 0) return false;
    const unknown = (name: string): CedarValueJson => ({ __extn: { fn: 'unknown', arg: name } });
    const answer = cedar.isAuthorizedPartial({
      principal: { type: `${NS}::Caller`, id: req.caller.id },
      action: { type: `${NS}::Action`, id: req.action },
      resource: { type: `${NS}::${type}`, id: req.name },
      context: {
        arguments: unknown('arguments'),
        hops: unknown('hops'),
        era: unknown('era'),
        time: unknown('time'),
      },
      entities: this.entities(req, type, undefined),
      policies: { staticPolicies: slice.byId },
    });
    if (answer.type === 'failure') return false;
    const r = answer.response;
    if (r.errored.some((id) => slice.effects.get(id) === 'forbid')) return false;
    return r.decision !== 'deny';
  }

  private slice(action: CedarAction, type: ResourceType, id: string): Slice {
    const key = `${action}\0${id}`;
    const known = this.byResource.get(key);
    if (known) return known;
    const policies = this.policies.filter((p) => p.applies(action, type, id));
    const signature = policies.map((p) => p.id).join('\0');
    let slice = this.slices.get(signature);
    if (!slice) {
      const reads = noReads();
      for (const p of policies) addReads(p.json, reads);
      const setId = `mcp-fed:${this.generation}:${this.slices.size}`;
      const byId = Object.fromEntries(policies.map((p) => [p.id, p.text]));
      if (policies.length > 0) {
        const parsed = cedar.preparsePolicySet(setId, { staticPolicies: byId });
        if (parsed.type === 'failure')
          throw new Error(`Cedar: ${parsed.errors[0]?.message ?? 'cannot preparse'}`);
      }
      slice = { setId, policies, byId, reads, effects: new Map(policies.map((p) => [p.id, p.effect])) };
      if (!reads.context.whole && reads.context.attrs.size === 0)
        slice.decided = new LRUCache<string, CedarDecision>({ max: MAX_DECISIONS });
      this.slices.set(signature, slice);
    }
    this.byResource.set(key, slice);
    return slice;
  }

  private context(req: CedarRequest, reads: PolicyReads, now: number): Context {
    const ctx: Context = {};
    const want = reads.context;
    const wants = (attr: string) => want.whole || want.attrs.has(attr);
    // Over 64 KiB as received, arguments are left out whatever the policies read of them.
    if (wants('arguments') && req.arguments && !jsonLongerThan(req.arguments, MAX_ARGUMENT_BYTES)) {
      const args = toCedar(req.arguments, want.whole ? undefined : want.attrs.get('arguments'));
      if (args !== undefined) ctx.arguments = args;
    }
    if (wants('hops')) ctx.hops = req.hops;
    if (wants('era')) ctx.era = req.era;
    if (wants('time')) ctx.time = datetime(now);
    return ctx;
  }

  /** The principal and resource entities, with only what `reads` names (all of it when undefined). */
  private entities(
    req: Omit<CedarRequest, 'arguments' | 'hops' | 'era'>,
    type: ResourceType,
    reads: PolicyReads | undefined,
  ): EntityJson[] {
    const out: EntityJson[] = [];
    if (!reads || reads.principalEntity) {
      const attrs: Record<string, unknown> = { kind: req.caller.kind ?? 'none' };
      if (req.caller.claims) attrs.claims = req.caller.claims;
      out.push({
        uid: { type: `${NS}::Caller`, id: req.caller.id },
        attrs: project(attrs, reads?.principal),
        parents: req.caller.groups.map((g) => ({ type: `${NS}::Group`, id: g })),
      });
    }
    if (!reads || reads.resourceEntity) {
      const attrs: Record<string, unknown> = { upstream: req.upstream, upstreamName: req.upstreamName };
      if (type === 'Tool') attrs.annotations = { ...ANNOTATION_DEFAULTS, ...definedHints(req.annotations) };
      out.push({
        uid: { type: `${NS}::${type}`, id: req.name },
        attrs: project(attrs, reads?.resource),
        parents: [],
      });
    }
    return out;
  }
}

function project(attrs: Record<string, unknown>, reads: Reads | undefined): Record<string, CedarValueJson> {
  if (reads && !reads.whole && reads.attrs.size === 0) return {};
  return (toCedar(attrs, reads) ?? {}) as Record<string, CedarValueJson>;
}

function definedHints(annotations: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(annotations ?? {})) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** Cedar messages may quote values from the request: never logged. */
function masked(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"/g, '(value)')
    .replace(/`[^`]*`/g, (m) => (m.length > 40 ? '(value)' : m));
}
