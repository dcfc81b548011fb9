import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/hooks/pipeline.ts';
import { VisibleLists } from '../../src/router/visible-lists.ts';

describe('VisibleLists', () => {
  it('filters once per caller identity, and again when what a policy reads of the caller differs', () => {
    let asked = 0;
    const lists = new VisibleLists(
      (caller, _kind, name) => {
        asked++;
        return name !== 'gold_only' || caller.claims?.tier === 'gold';
      },
      () => undefined,
    );
    const tools = [{ name: 'open' }, { name: 'gold_only' }];
    const silver: Caller = { id: 'ana', groups: ['staff'], kind: 'jwt', claims: { tier: 'silver' } };
    const gold: Caller = { ...silver, claims: { tier: 'gold' } };
    const names = (c: Caller) => lists.items('tools', tools, c).map((t) => (t as { name: string }).name);
    expect(names(silver)).toEqual(['open']);
    expect(names(silver)).toEqual(['open']);
    expect(asked).toBe(2);
    // The same caller id with a new token whose claims differ: judged afresh, not served the old list.
    expect(names(gold)).toEqual(['open', 'gold_only']);
    expect(names({ ...silver, groups: ['staff', 'vip'] })).toEqual(['open']);
    expect(asked).toBe(6);
  });
});
