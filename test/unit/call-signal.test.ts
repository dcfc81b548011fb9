import { describe, expect, it } from 'vitest';
import { abortSignalOf, CallAbort } from '../../src/upstream/call-signal.ts';

describe('CallAbort (a call cancellation without an EventTarget)', () => {
  it('calls each listener once on abort; a removed one never, one added afterwards never', () => {
    const abort = new CallAbort();
    const heard: string[] = [];
    const a = () => heard.push('a');
    const b = () => heard.push('b');
    abort.addEventListener('abort', a);
    abort.addEventListener('abort', b);
    abort.removeEventListener('abort', b);
    expect(abort.aborted).toBe(false);
    abort.abort();
    abort.abort();
    abort.addEventListener('abort', () => heard.push('late'));
    expect(abort.aborted).toBe(true);
    expect(heard).toEqual(['a']);
  });

  it('gives APIs that need one a real AbortSignal, made before or after the abort', () => {
    const before = new CallAbort();
    const early = before.signal;
    expect(early.aborted).toBe(false);
    before.abort();
    expect(early.aborted).toBe(true);
    const after = new CallAbort();
    after.abort();
    expect(abortSignalOf(after)?.aborted).toBe(true);
  });

  it('passes an AbortSignal through as it is', () => {
    const ac = new AbortController();
    expect(abortSignalOf(ac.signal)).toBe(ac.signal);
    expect(abortSignalOf(undefined)).toBeUndefined();
  });
});
