/** The pre-hook chain: order, mutation, and overlapping hooks (rate limit beside the PII vault write). */
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../../src/errors.ts';
import { HookPipeline, type McpCall, type Outcome, type PreHook } from '../../src/hooks/pipeline.ts';
import { callContextFor, echoCall } from '../helpers/call-fixtures.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
const reject = (code: 'RATE_LIMITED' | 'PII_BLOCKED', decision: string): Outcome<McpCall> => ({
  kind: 'reject',
  error: new ProxyError(code, code),
  decision,
});

/** A hook that logs when it starts and ends, waits `ms`, then answers `outcome`. */
function hook(name: string, log: string[], ms: number, outcome: Outcome<McpCall>, overlaps = false): PreHook {
  return {
    name,
    overlaps,
    async before() {
      log.push(`${name} start`);
      await wait(ms);
      log.push(`${name} end`);
      return outcome;
    },
  };
}

describe('HookPipeline.before', () => {
  it('starts the hooks after an overlapping one while it waits, and still passes the call on', async () => {
    const log: string[] = [];
    const mutate: PreHook = {
      name: 'mutate',
      async before(call) {
        log.push('mutate start');
        await wait(5);
        log.push('mutate end');
        return { kind: 'mutate', value: { ...call, params: { ...call.params, arguments: { x: 2 } } } };
      },
    };
    const p = new HookPipeline([hook('limit', log, 30, { kind: 'pass' }, true), mutate]);
    const out = await p.before(echoCall({ x: 1 }), callContextFor());
    expect(log).toEqual(['limit start', 'mutate start', 'mutate end', 'limit end']);
    expect(out).toMatchObject({ ok: true, call: { params: { arguments: { x: 2 } } } });
  });

  it("lets an overlapping hook's rejection win over a later hook's, as if it had run first", async () => {
    const log: string[] = [];
    const ctx = callContextFor();
    const p = new HookPipeline([
      hook('limit', log, 20, reject('RATE_LIMITED', 'rate_limited'), true),
      hook('pii', log, 1, reject('PII_BLOCKED', 'pii_blocked')),
    ]);
    const out = await p.before(echoCall({}), ctx);
    expect(out.ok).toBe(false);
    expect(!out.ok && out.error.code).toBe('RATE_LIMITED');
    expect(ctx.decision).toBe('rate_limited');
  });

  it("rejects with an overlapping hook's answer when everything after it passed", async () => {
    const ctx = callContextFor();
    const p = new HookPipeline([
      hook('limit', [], 10, reject('RATE_LIMITED', 'rate_limited'), true),
      hook('pii', [], 1, { kind: 'pass' }),
    ]);
    const out = await p.before(echoCall({}), ctx);
    expect(!out.ok && out.error.code).toBe('RATE_LIMITED');
    expect(ctx.decision).toBe('rate_limited');
  });

  it('reports a later rejection when the overlapping hook passed', async () => {
    const ctx = callContextFor();
    const p = new HookPipeline([
      hook('limit', [], 10, { kind: 'pass' }, true),
      hook('pii', [], 1, reject('PII_BLOCKED', 'pii_blocked')),
    ]);
    const out = await p.before(echoCall({}), ctx);
    expect(!out.ok && out.error.code).toBe('PII_BLOCKED');
    expect(ctx.decision).toBe('pii_blocked');
  });
});
