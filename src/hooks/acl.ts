import { globMatcher } from '../catalog/glob.ts';
import type { AclRule } from '../config/schema.ts';
import { ProxyError } from '../errors.ts';
import { namesCaller } from './callers.ts';
import type { Caller, PreHook } from './pipeline.ts';

/** Whether a caller may see and use an entry, by public name (tools, prompts) or URI (resources). */
export type AccessFilter = (caller: Caller, name: string) => boolean;

interface CompiledRule {
  callers: readonly string[];
  allow: (name: string) => boolean;
  deny: (name: string) => boolean;
}

/**
 * `policies.acl` (DESIGN.md): rules apply in order to the callers they name; the first rule whose deny
 * or allow globs match the name decides, deny checked before allow; once any rule exists, a name no
 * rule decides is denied. With no rules at all everything is allowed.
 */
export class Acl {
  private readonly rules: CompiledRule[];
  /** The rules that name a caller, per caller object (inbound auth reuses one object per identity). */
  private readonly perCaller = new WeakMap<Caller, CompiledRule[]>();

  constructor(rules: readonly AclRule[]) {
    this.rules = rules.map((r) => ({
      callers: r.callers,
      allow: globMatcher(r.allow ?? []),
      deny: globMatcher(r.deny ?? []),
    }));
  }

  get active(): boolean {
    return this.rules.length > 0;
  }

  allows(caller: Caller, name: string): boolean {
    if (this.rules.length === 0) return true;
    for (const rule of this.rulesFor(caller)) {
      if (rule.deny(name)) return false;
      if (rule.allow(name)) return true;
    }
    return false;
  }

  /** As a function for Federation.list, which filters what each caller sees. */
  readonly filter: AccessFilter = (caller, name) => this.allows(caller, name);

  private rulesFor(caller: Caller): CompiledRule[] {
    let rules = this.perCaller.get(caller);
    if (!rules) {
      rules = this.rules.filter((r) => namesCaller(r.callers, caller));
      this.perCaller.set(caller, rules);
    }
    return rules;
  }
}

/** The call-time half of the ACL: a caller can only call what it could list. */
export function aclHook(acl: Acl): PreHook {
  return {
    name: 'acl',
    before(call, ctx) {
      if (acl.allows(ctx.caller, call.publicName)) return { kind: 'pass' };
      // A resource URI may carry values (templates), so it is not echoed; tool and prompt names are the catalog's.
      const error =
        call.method === 'resources/read'
          ? new ProxyError('ACL_DENIED', `caller "${ctx.caller.id}" is not allowed to read this resource`)
          : new ProxyError(
              'ACL_DENIED',
              `caller "${ctx.caller.id}" is not allowed to use ${call.method === 'tools/call' ? 'tool' : 'prompt'} "${call.publicName}"`,
              { name: call.publicName },
            );
      return { kind: 'reject', decision: 'deny_acl', error };
    },
  };
}
