import type { Expr, PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';

/**
 * What policies read of a value: the whole of it, or only some attributes (each with what is read of
 * it in turn). `context.arguments.amount <= 10000` reads `arguments` → `amount` of the context, so a
 * call's context carries that one argument and nothing else: converting values for the wasm boundary
 * is what a decision costs, far more than evaluating it.
 */
export interface Reads {
  whole: boolean;
  attrs: Map<string, Reads>;
}

export const newReads = (): Reads => ({ whole: false, attrs: new Map() });

/** What a set of policies reads of `principal`, `resource` and `context`, and which entities they use. */
export interface PolicyReads {
  principal: Reads;
  resource: Reads;
  context: Reads;
  /** The principal is used beyond `==` (its groups: `in`): its entity is passed. */
  principalEntity: boolean;
  resourceEntity: boolean;
}

export const noReads = (): PolicyReads => ({
  principal: newReads(),
  resource: newReads(),
  context: newReads(),
  principalEntity: false,
  resourceEntity: false,
});

type VarName = 'principal' | 'action' | 'resource' | 'context';

/** Adds what `policy` reads to `into`. */
export function addReads(policy: PolicyJson, into: PolicyReads): void {
  if (policy.principal.op === 'in') into.principalEntity = true;
  for (const clause of policy.conditions) walk(clause.body, into);
}

/** The chain `var.a.b` an expression names, if it is one. */
function path(expr: Expr): { root: VarName; attrs: string[] } | undefined {
  const e = expr as Record<string, unknown>;
  if (typeof e.Var === 'string') return { root: e.Var as VarName, attrs: [] };
  const dot = e['.'] as { left: Expr; attr: string } | undefined;
  if (dot) {
    const inner = path(dot.left);
    return inner && { root: inner.root, attrs: [...inner.attrs, dot.attr] };
  }
  return undefined;
}

function mark(into: PolicyReads, root: VarName, attrs: string[], whole: boolean): void {
  if (root === 'action') return;
  if (root !== 'context' && attrs.length === 0) {
    // The entity itself (`principal in Group`, `resource == ...`): its uid and parents, no attributes.
    if (root === 'principal') into.principalEntity = true;
    else into.resourceEntity = true;
    if (!whole) return;
  }
  if (root === 'principal') into.principalEntity = true;
  if (root === 'resource') into.resourceEntity = true;
  let node = into[root];
  for (const a of attrs) {
    if (node.whole) return;
    let next = node.attrs.get(a);
    if (!next) {
      next = newReads();
      node.attrs.set(a, next);
    }
    node = next;
  }
  // An entity used whole (compared, passed on) needs only its uid; a record used whole needs all of it.
  if (whole && (root === 'context' || attrs.length > 0)) node.whole = true;
}

function walk(expr: Expr, into: PolicyReads): void {
  const p = path(expr);
  if (p) {
    // A chain read as a value: what it ends at is needed whole.
    mark(into, p.root, p.attrs, true);
    return;
  }
  const e = expr as Record<string, unknown>;
  const has = e.has as { left: Expr; attr: string | string[] } | undefined;
  if (has) {
    const inner = path(has.left);
    const attrs = Array.isArray(has.attr) ? has.attr : [has.attr];
    // `x has a.b`: presence only; what is read of a.b elsewhere decides how much of it is passed.
    if (inner) mark(into, inner.root, [...inner.attrs, ...attrs], false);
    else walk(has.left, into);
    return;
  }
  for (const child of Object.values(e)) visit(child, into);
}

function visit(node: unknown, into: PolicyReads): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) visit(n, into);
    return;
  }
  const keys = Object.keys(node);
  // An Expr is an object with one operator key; operands hold Exprs (left/right/arg/if/...).
  if (keys.length === 1 && isOperator(keys[0]!)) walk(node as Expr, into);
  else for (const v of Object.values(node)) visit(v, into);
}

const OPERAND_KEYS = new Set([
  'left',
  'right',
  'arg',
  'if',
  'then',
  'else',
  'pattern',
  'entity_type',
  'in',
  'attr',
]);
function isOperator(key: string): boolean {
  return !OPERAND_KEYS.has(key);
}
