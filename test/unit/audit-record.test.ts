import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditRecord } from '../../src/hooks/audit/index.ts';
import type { CallRecord } from '../../src/router/federation.ts';
import { AUDIT_RECORD_FIELDS } from '../helpers/governance.ts';

const KEY = Buffer.from('audit-key-for-tests');
const OPTS = { key: KEY, configVersion: 'abcdef0123456789' };
const hmacOf = (text: string) => createHmac('sha256', KEY).update(text).digest('hex');

const base = (over: Partial<CallRecord> = {}, ctx: Partial<CallRecord['ctx']> = {}): CallRecord => ({
  ctx: {
    requestId: 'req-1',
    caller: { id: 'team-a', groups: ['g'] },
    era: 'modern',
    hops: 2,
    decision: 'allow',
    tokenIds: ['EMAIL_ab12'],
    hookMs: 0.1,
    ...ctx,
  },
  method: 'tools/call',
  publicName: 'tools__echo',
  upstream: 'tools',
  upstreamName: 'echo',
  argumentsValue: { text: 'secret value 123' },
  totalMs: 12.3456,
  upstreamMs: 10.0004,
  upstreamStatus: 200,
  result: 'ok',
  ...over,
});

describe('audit record', () => {
  it('has exactly the DESIGN.md fields, in order, and hashes instead of holding the arguments', () => {
    const r = auditRecord(base(), Date.parse('2026-11-25T10:00:00.000Z'), OPTS);
    expect(Object.keys(r)).toEqual(AUDIT_RECORD_FIELDS);
    expect(r).toMatchObject({
      request_id: 'req-1',
      timestamp: '2026-11-25T09:59:59.988Z',
      caller_identity: 'team-a',
      latency_ms: 12.346,
      upstream_latency_ms: 10,
      added_latency_ms: 2.345,
      redaction_tokens_ids: ['EMAIL_ab12'],
      trace_id: null,
      hops: 2,
      config_version: 'abcdef0123456789',
      upstream_identity: 'service',
    });
    // An HMAC under the audit key: not a plain digest anyone could recompute from a guessed value.
    expect(r.pre_transform_hash).toBe(hmacOf(JSON.stringify({ text: 'secret value 123' })));
    expect(JSON.stringify(r)).not.toContain('secret value');
  });

  it('records no upstream status and zero upstream latency when no upstream call was made', () => {
    const r = auditRecord(
      base({ upstreamStatus: null, upstreamMs: 0, result: 'error' }, { decision: 'deny_acl' }),
      Date.now(),
      OPTS,
    );
    expect(r).toMatchObject({ upstream_status: null, upstream_latency_ms: 0, policy_decision: 'deny_acl' });
    expect(r.added_latency_ms).toBe(r.latency_ms);
  });

  it('takes the trace id from traceparent and keeps decisions to the documented set', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(auditRecord(base({}, { traceparent: tp }), Date.now(), OPTS).trace_id).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    const vaultDown = auditRecord(
      base({ result: 'error' }, { decision: 'store_unavailable' }),
      Date.now(),
      OPTS,
    );
    expect(vaultDown.policy_decision).toBe('pii_blocked');
    const odd = auditRecord(base({ result: 'error' }, { decision: 'something_new' }), Date.now(), OPTS);
    expect(odd.policy_decision).toBe('upstream_error');
  });

  it('hashes {} for a call without arguments', () => {
    const r = auditRecord(base({ argumentsValue: undefined }), Date.now(), OPTS);
    expect(r.pre_transform_hash).toBe(hmacOf('{}'));
  });
});
