import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { ProxyError, UpstreamRpcError } from '../errors.ts';

/** Whether an error from a request means the upstream connection itself is gone. */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof SdkHttpError) return err.status >= 500 || err.status === 404;
  if (err instanceof SdkError) {
    return (
      err.code === SdkErrorCode.ConnectionClosed ||
      err.code === SdkErrorCode.SendFailed ||
      err.code === SdkErrorCode.NotConnected
    );
  }
  if (err instanceof TypeError) return true; // fetch failed: refused, reset, DNS
  const code = (err as { code?: unknown })?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** Maps whatever a request to `upstream` threw onto the error the downstream client sees. */
export function toDownstreamError(upstream: string, err: unknown): Error {
  if (err instanceof ProxyError || err instanceof UpstreamRpcError) return err;
  if (err instanceof ProtocolError) return new UpstreamRpcError(err.code, err.message, err.data);
  if (err instanceof SdkHttpError && (err.status === 401 || err.status === 403)) {
    return new ProxyError(
      'UPSTREAM_AUTH_FAILED',
      `upstream "${upstream}" rejected the proxy's credentials (HTTP ${err.status})`,
      {
        upstream,
        status: err.status,
      },
    );
  }
  if (err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) {
    return new ProxyError('UPSTREAM_TIMEOUT', `upstream "${upstream}" did not answer in time`, { upstream });
  }
  if (isAbort(err)) return err as Error;
  if (isConnectionFailure(err)) {
    return new ProxyError('UPSTREAM_UNAVAILABLE', `upstream "${upstream}" is unavailable`, { upstream });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProxyError('UPSTREAM_ERROR', `upstream "${upstream}" failed: ${message}`, { upstream });
}

export function isAbort(err: unknown): boolean {
  return (err as { name?: string })?.name === 'AbortError';
}
