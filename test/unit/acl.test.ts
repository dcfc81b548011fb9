import { describe, expect, it } from 'vitest';
import { Acl, aclHook } from '../../src/hooks/acl.ts';
import type { CallContext, Caller, McpCall } from '../../src/hooks/pipeline.ts';

const caller = (id: string, ...groups: string[]): Caller => ({ id, groups });

describe('ACL rules', () => {
  it('allows everything when there are no rules', () => {
    const acl = new Acl([]);
    expect(acl.active).toBe(false);
    expect(acl.allows(caller('anyone'), 'x__anything')).toBe(true);
  });

  it('denies by default once any rule exists, also callers no rule names', () => {
    const acl = new Acl([{ callers: ['a'], allow: ['tools__*'] }]);
    expect(acl.allows(caller('a'), 'tools__echo')).toBe(true);
    expect(acl.allows(caller('a'), 'other__echo')).toBe(false);
    expect(acl.allows(caller('b'), 'tools__echo')).toBe(false);
  });

  it('checks deny before allow within a rule', () => {
    const acl = new Acl([{ callers: ['*'], allow: ['fs__*'], deny: ['fs__delete*'] }]);
    expect(acl.allows(caller('x'), 'fs__read')).toBe(true);
    expect(acl.allows(caller('x'), 'fs__delete_all')).toBe(false);
  });

  it('lets the first rule that matches decide, and skips rules that match nothing', () => {
    const acl = new Acl([
      { callers: ['group:ops'], deny: ['db__drop'] },
      { callers: ['a'], allow: ['db__*'] },
      { callers: ['*'], allow: ['db__drop', 'db__read'] },
    ]);
    expect(acl.allows(caller('a', 'ops'), 'db__drop')).toBe(false);
    expect(acl.allows(caller('a'), 'db__drop')).toBe(true);
    expect(acl.allows(caller('b'), 'db__drop')).toBe(true);
    expect(acl.allows(caller('b'), 'db__write')).toBe(false);
    expect(acl.allows(caller('b', 'ops'), 'db__read')).toBe(true);
  });

  it('matches group: entries on the caller’s groups, ? and * globs, and URIs', () => {
    const acl = new Acl([{ callers: ['group:finance'], allow: ['v?__quote', 'ledger://accounts/*'] }]);
    expect(acl.allows(caller('c', 'sales', 'finance'), 'v1__quote')).toBe(true);
    expect(acl.allows(caller('c', 'sales', 'finance'), 'v10__quote')).toBe(false);
    expect(acl.allows(caller('c', 'finance'), 'ledger://accounts/42')).toBe(true);
    expect(acl.allows(caller('c', 'finance'), 'ledger://other/42')).toBe(false);
    expect(acl.allows(caller('finance'), 'v1__quote')).toBe(false);
  });
});

describe('ACL hook', () => {
  const ctx = (c: Caller): CallContext => ({
    requestId: 'r',
    caller: c,
    era: 'modern',
    hops: 1,
    decision: 'allow',
    tokenIds: [],
    hookMs: 0,
  });
  const call = (method: McpCall['method'], publicName: string): McpCall => ({
    method,
    publicName,
    upstream: 'u',
    upstreamName: publicName,
    params: {},
  });
  const hook = aclHook(new Acl([{ callers: ['a'], allow: ['ok__*'] }]));

  it('passes allowed calls and rejects the rest with ACL_DENIED / deny_acl', async () => {
    expect(await hook.before(call('tools/call', 'ok__x'), ctx(caller('a')))).toEqual({ kind: 'pass' });
    const out = await hook.before(call('prompts/get', 'no__x'), ctx(caller('a')));
    expect(out.kind).toBe('reject');
    if (out.kind !== 'reject') return;
    expect(out.decision).toBe('deny_acl');
    expect(out.error.code).toBe('ACL_DENIED');
    expect(out.error.message).toContain('prompt "no__x"');
  });

  it('does not echo a resource URI (it may carry values)', async () => {
    const out = await hook.before(call('resources/read', 'users://jane@example.com'), ctx(caller('a')));
    if (out.kind !== 'reject') throw new Error('expected a reject');
    expect(JSON.stringify(out.error.toJsonRpc())).not.toContain('jane@example.com');
  });
});
