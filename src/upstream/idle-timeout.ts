import { SdkError, SdkErrorCode } from '@modelcontextprotocol/client';

/** Longer than any config allows: hands the SDK's own per-request timer over to an IdleTimeout. */
export const NO_SDK_TIMEOUT = 2_147_483_647;

export interface IdleTimeout {
  /** Aborts with the SDK's RequestTimeout error after `ms` without a restart, or when `outer` aborts. */
  signal: AbortSignal;
  restart(): void;
  clear(): void;
}

/** A request timeout that restarts on progress, like the SDK's `resetTimeoutOnProgress`. */
export function idleTimeout(ms: number, outer?: AbortSignal): IdleTimeout {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => ac.abort(new SdkError(SdkErrorCode.RequestTimeout, 'Request timed out', { timeout: ms })),
      ms,
    );
  };
  restart();
  return {
    signal: outer ? AbortSignal.any([outer, ac.signal]) : ac.signal,
    restart,
    clear: () => clearTimeout(timer),
  };
}
