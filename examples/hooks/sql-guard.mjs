// A module hook to start from (README, "Your own hooks"): refuses SQL that destroys data in the
// arguments of tools their upstream marks destructive, and notes on each result it let through that
// it was checked. Config:
//   hooks:
//     - { name: sql-guard, module: ./examples/hooks/sql-guard.mjs, timeoutMs: 50 }
// It sees arguments with PII already replaced by tokens, and answers in the JSON shape every hook
// answers in: { outcome: "pass" | "mutate" | "reject", arguments?, result?, message? }.

/** @typedef {import('mcp-fed/hooks').HookCall} HookCall */
/** @typedef {import('mcp-fed/hooks').HookContext} HookContext */
/** @typedef {import('mcp-fed/hooks').HookAnswer} HookAnswer */

// Statements that remove or rewrite data wholesale. DELETE and UPDATE count only without a WHERE.
const DESTRUCTIVE = [
  /\bdrop\s+(table|database|schema|view|index)\b/i,
  /\btruncate\s+(table\s+)?\w/i,
  /\balter\s+table\s+\S+\s+drop\b/i,
  /\bdelete\s+from\s+[\w."`[\]]+\s*(;|$)/i,
  /\bupdate\s+[\w."`[\]]+\s+set\b(?![\s\S]*\bwhere\b)/i,
];

/** Every string inside a value (argument objects nest). */
function* strings(value) {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const v of value) yield* strings(v);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) yield* strings(v);
}

/**
 * @param {HookCall} call
 * @param {HookContext} context
 * @returns {HookAnswer}
 */
export function before(call, context) {
  if (call.method !== 'tools/call' || call.annotations.destructiveHint !== true) return { outcome: 'pass' };
  for (const s of strings(call.arguments)) {
    const hit = DESTRUCTIVE.find((re) => re.test(s));
    if (hit)
      return {
        outcome: 'reject',
        message: `sql-guard: ${call.name} was asked to run a destructive statement (${s.match(hit)?.[0]}); ` +
          `ask a database owner (request ${context.requestId})`,
      };
  }
  return { outcome: 'pass' };
}

/**
 * @param {HookCall} call
 * @param {Readonly<Record<string, unknown>>} result
 * @returns {HookAnswer}
 */
export function after(call, result) {
  if (call.method !== 'tools/call' || call.annotations.destructiveHint !== true) return { outcome: 'pass' };
  const meta = /** @type {Record<string, unknown>} */ (result._meta ?? {});
  return {
    outcome: 'mutate',
    result: { ...result, _meta: { ...meta, 'example.com/sql-guard': { checked: true, rules: DESTRUCTIVE.length } } },
  };
}
