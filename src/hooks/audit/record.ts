import { createHmac } from 'node:crypto';
import type { CallRecord } from '../../router/federation.ts';
import { traceIdOf } from '../../telemetry/tracing.ts';

/** The policy decisions an audit record may carry (DESIGN.md, "Audit record"). */
export const DECISIONS = [
  'allow',
  'deny_acl',
  'rate_limited',
  'pii_blocked',
  'hop_limit',
  'hook_rejected',
  'hook_failed',
  'consent_required',
  'unknown_tool',
  'upstream_error',
] as const;
export type PolicyDecision = (typeof DECISIONS)[number];
const KNOWN = new Set<string>(DECISIONS);

/** One line of the audit log: exactly DESIGN.md's fields, in its order. */
export interface AuditRecord {
  request_id: string;
  timestamp: string;
  caller_identity: string;
  tool_name: string | null;
  upstream: string | null;
  upstream_tool: string | null;
  pre_transform_hash: string;
  latency_ms: number;
  upstream_latency_ms: number;
  added_latency_ms: number;
  upstream_status: number | null;
  result_status: 'ok' | 'tool_error' | 'error';
  policy_decision: PolicyDecision;
  redaction_tokens_ids: string[];
  trace_id: string | null;
  hops: number;
  /** Which config judged the call (a hash of it). */
  config_version: string;
  /** Whose credential reached the upstream: the proxy's own (`service`) or the caller's. */
  upstream_identity: 'service' | 'caller';
  /** The hook of yours that rejected or failed the call; absent otherwise. */
  hook?: string;
  /** The Cedar policies that decided (`[]`: a default deny, or Cedar never reached); absent when Cedar is off. */
  policy_ids?: string[];
}

const ms = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Builds the record of a finished call; runs in the buffered writer, off the request's path. The
 * arguments are only ever hashed: HMAC-SHA256 (hex) under `secrets.auditKey` of their JSON as
 * received, before any hook (`{}` when the call had none): an auditor holding the key and the original
 * request can prove what was sent; a reader of the log alone cannot guess short values back. `endedAt` is the epoch ms at which the call ended; `timestamp` is its start.
 */
export interface RecordOptions {
  /** `secrets.auditKey`: the arguments' hash is an HMAC under it. */
  key: Buffer;
  configVersion: string;
  /** Cedar is on: `policy_ids` is present. */
  cedar?: boolean;
}

export function auditRecord(rec: CallRecord, endedAt: number, opts: RecordOptions): AuditRecord {
  const ctx = rec.ctx;
  const called = rec.upstreamStatus !== null || rec.upstreamMs > 0;
  const upstreamMs = called ? rec.upstreamMs : 0;
  return {
    request_id: ctx.requestId,
    timestamp: new Date(Math.round(endedAt - rec.totalMs)).toISOString(),
    caller_identity: ctx.caller.id,
    tool_name: rec.publicName,
    upstream: rec.upstream,
    upstream_tool: rec.upstreamName,
    pre_transform_hash: createHmac('sha256', opts.key)
      .update(JSON.stringify(rec.argumentsValue ?? {}))
      .digest('hex'),
    latency_ms: ms(rec.totalMs),
    upstream_latency_ms: ms(upstreamMs),
    added_latency_ms: ms(Math.max(0, rec.totalMs - upstreamMs)),
    upstream_status: rec.upstreamStatus,
    result_status: rec.result,
    policy_decision: decisionOf(ctx.decision, rec.result),
    redaction_tokens_ids: [...ctx.tokenIds],
    trace_id: traceIdOf(ctx.traceparent),
    hops: ctx.hops,
    config_version: ctx.judgedBy?.version ?? opts.configVersion,
    upstream_identity: ctx.upstreamIdentity ?? 'service',
    ...(ctx.hook !== undefined && { hook: ctx.hook }),
    ...((ctx.judgedBy?.cedar ?? opts.cedar) && { policy_ids: ctx.policyIds ? [...ctx.policyIds] : [] }),
  };
}

/**
 * Decisions hooks use that DESIGN.md's list has no name for, recorded as the policy that failed closed:
 * the PII vault being unreachable blocks the call in the PII policy (metrics keep the finer name).
 */
const ALIASES: Record<string, PolicyDecision> = { store_unavailable: 'pii_blocked' };

/** A hook's decision, held to the documented set (a new hook's own word must not break consumers). */
export function decisionOf(decision: string, result: AuditRecord['result_status']): PolicyDecision {
  if (KNOWN.has(decision)) return decision as PolicyDecision;
  return ALIASES[decision] ?? (result === 'error' ? 'upstream_error' : 'allow');
}
