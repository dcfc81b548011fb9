/**
 * What the proxy's own code needs of a call's cancellation: whether it is over, and to hear when it
 * ends. An AbortSignal is one; so is CallAbort below.
 */
export interface CallSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * The cancellation of one call on the hot path (the client went away: DESIGN.md, "Performance"). An
 * AbortController would do, but its AbortSignal is an EventTarget: making one and registering a listener
 * cost ≈ 8-10 µs of a proxied call's CPU (perf, 2026-12-04), for calls almost never cancelled. This keeps a
 * flag and its listener, and makes a real AbortSignal only for an API that takes one (the SDK client).
 *
 * One field for the usual single listener, not an array per call: with `[listener]` V8 pretenured the arrays
 * (allocated them old), so each held its call's objects through young collections; the heap grew from
 * 35 MB to 115 MB over 60,000 calls before a full collection (`--trace-gc`), and GC ate the gain.
 */
export class CallAbort implements CallSignal {
  aborted = false;
  /** Most calls have one listener (the upstream request); a list only beyond it. */
  private listener: (() => void) | undefined = undefined;
  private others: (() => void)[] | undefined = undefined;
  private controller: AbortController | undefined = undefined;

  /** Listeners are called once, when the call is aborted (as with `{ once: true }`); none after. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    if (this.listener === undefined) this.listener = listener;
    else if (this.others) this.others.push(listener);
    else this.others = [listener];
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) {
      this.listener = undefined;
      return;
    }
    const at = this.others?.indexOf(listener) ?? -1;
    if (at >= 0) this.others?.splice(at, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
    const first = this.listener;
    const others = this.others;
    this.listener = undefined;
    this.others = undefined;
    first?.();
    for (const listener of others ?? []) listener();
  }

  /** An AbortSignal that aborts with this call (made on first use). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }
}

/** `signal` as an AbortSignal, for APIs that take only that. */
export function abortSignalOf(signal: CallSignal | undefined): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  return (signal as CallAbort).signal;
}
