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
 * flag and a list, and makes a real AbortSignal only for an API that takes one (the SDK client).
 */
export class CallAbort implements CallSignal {
  aborted = false;
  private listeners: (() => void)[] | undefined;
  private controller: AbortController | undefined;

  /** Listeners are called once, when the call is aborted (as with `{ once: true }`); none after. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at >= 0) this.listeners?.splice(at, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) listener();
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
