import { ProxyError, UpstreamRpcError } from '../errors.ts';

/** The proxy as it names itself in `serverInfo` (initialize, server/discover, result `_meta`). */
export const PROXY_INFO = { name: 'mcp-fed', version: '0.1.0' };

const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';

/**
 * The result as the client's era expects it: the proxy (not the upstream) named in serverInfo, and
 * the 2026-07-28 fields present for modern clients and absent for legacy ones.
 */
export function finishResult(result: Record<string, unknown>, era: 'modern' | 'legacy', method: string) {
  const out: Record<string, unknown> = { ...result };
  const meta = result._meta as Record<string, unknown> | undefined;
  if (meta && SERVER_INFO_META in meta) {
    const { [SERVER_INFO_META]: _, ...rest } = meta;
    if (era === 'modern') out._meta = { ...rest, [SERVER_INFO_META]: PROXY_INFO };
    else if (Object.keys(rest).length) out._meta = rest;
    else delete out._meta;
  } else if (era === 'modern') {
    out._meta = { ...meta, [SERVER_INFO_META]: PROXY_INFO };
  }
  if (era === 'modern') {
    out.resultType ??= 'complete';
    if (method === 'resources/read') {
      out.ttlMs ??= 0;
      out.cacheScope ??= 'private';
    }
  } else {
    delete out.resultType;
    delete out.ttlMs;
    delete out.cacheScope;
  }
  return out;
}

export function rpcErrorOf(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof ProxyError) return err.toJsonRpc();
  if (err instanceof UpstreamRpcError)
    return err.data === undefined
      ? { code: err.rpcCode, message: err.message }
      : { code: err.rpcCode, message: err.message, data: err.data };
  return { code: -32603, message: 'Internal error' };
}
