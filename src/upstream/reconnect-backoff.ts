const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 10_000;

/** When an upstream that died is tried again: exponential backoff with jitter, one retry pending at most. */
export class ReconnectBackoff {
  private attempt = 0;
  private retryTimer?: NodeJS.Timeout;

  /** Runs `retry` after the next delay, unless a retry is already pending. */
  schedule(retry: () => void): void {
    if (this.retryTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      retry();
    }, delay);
    this.retryTimer.unref();
  }

  /** A connect succeeded: the next failure starts again from the shortest delay. */
  reset(): void {
    this.attempt = 0;
  }

  cancel(): void {
    clearTimeout(this.retryTimer);
  }
}
