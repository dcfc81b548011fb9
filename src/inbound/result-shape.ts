import { JSONRPC, ProxyError, UpstreamRpcError } from '../errors.ts';

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

/**
 * The JSON-RPC error a client gets, in its era's terms: 2026-07-28 answers an unknown resource with
 * -32602 (Invalid params, `data.uri`; SEP-2164) where 2025-era servers used -32002.
 */
export function rpcErrorOf(
  err: unknown,
  era?: 'modern' | 'legacy',
): { code: number; message: string; data?: unknown } {
  if (err instanceof ProxyError) {
    const e = err.toJsonRpc();
    if (era === 'modern' && err.code === 'UNKNOWN_RESOURCE') e.code = JSONRPC.INVALID_PARAMS;
    return e;
  }
  if (err instanceof UpstreamRpcError)
    return err.data === undefined
      ? { code: err.rpcCode, message: err.message }
      : { code: err.rpcCode, message: err.message, data: err.data };
  return { code: -32603, message: 'Internal error' };
}
