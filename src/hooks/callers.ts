import type { Caller } from './pipeline.ts';

/**
 * Whether a policy's `callers` list names this caller: its id, one of its groups as `group:<name>`,
 * or `*`. Shared by the ACL and rate limits so both read a rule the same way.
 */
export function namesCaller(callers: readonly string[], caller: Caller): boolean {
  for (const entry of callers) {
    if (entry === '*' || entry === caller.id) return true;
    if (entry.startsWith('group:') && caller.groups.includes(entry.slice(6))) return true;
  }
  return false;
}
