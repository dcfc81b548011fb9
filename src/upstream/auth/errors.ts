import { SdkHttpError } from '@modelcontextprotocol/client';
import { ProxyError } from '../../errors.ts';

/** UPSTREAM_AUTH_FAILED for one upstream. `reason` must never carry a secret. */
export function authFailed(upstream: string, reason: string, data: Record<string, unknown> = {}): ProxyError {
  return new ProxyError('UPSTREAM_AUTH_FAILED', `upstream "${upstream}": ${reason}`, { upstream, ...data });
}

/**
 * The auth failure behind `err`, if that is what it is: an adapter's own UPSTREAM_AUTH_FAILED (the SDK
 * transport may wrap it) or the upstream's HTTP 401/403.
 */
export function findAuthFailure(upstream: string, err: unknown): ProxyError | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    if (e instanceof ProxyError) return e.code === 'UPSTREAM_AUTH_FAILED' ? e : undefined;
    if (e instanceof SdkHttpError && (e.status === 401 || e.status === 403))
      return authFailed(upstream, `the upstream rejected the proxy's credentials (HTTP ${e.status})`, {
        status: e.status,
      });
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A short, secret-free description of why a credential or token fetch failed. */
export function describeFetchFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  const code = (err as { code?: unknown })?.code ?? cause?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `not reachable (${code})`;
  if ((err as { name?: string })?.name === 'TimeoutError') return 'did not answer in time';
  return 'failed';
}
