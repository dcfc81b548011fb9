import { JSONRPC, ProxyError, UpstreamRpcError } from '../errors.ts';
import { takeRaw } from '../upstream/raw-results.ts';

/** The proxy as it names itself in `serverInfo` (initialize, server/discover, result `_meta`). */
export const PROXY_INFO = { name: 'mcp-fed', version: '0.1.0' };

const SERVER_INFO_META = 'io.modelcontextprotocol/serverInfo';
const PROXY_INFO_JSON = JSON.stringify(PROXY_INFO);

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
 * The client's answer for an upstream result no step has touched, as the upstream's own bytes with the
 * client's id spliced in, or undefined when it must be serialised (DESIGN.md, "Performance"). It gives
 * exactly what `finishResult` would, and only for the layout the MCP SDKs write, matched from the end:
 * `{"result":{…,"resultType":"complete","_meta":{serverInfo}},"jsonrpc":"2.0","id":"<upstream id>"}`.
 * The text parsed as JSON, so a suffix that matches is those very members, not look-alikes inside a value.
 */
export function relayedAnswer(
  result: Record<string, unknown>,
  era: 'modern' | 'legacy',
  method: string,
  clientId: string | number,
): string | undefined {
  const raw = takeRaw(result);
  if (!raw) return undefined;
  const { text } = raw;
  const idTail = `"jsonrpc":"2.0","id":"${raw.upstreamId}"}`;
  const answerTail = `"jsonrpc":"2.0","id":${JSON.stringify(clientId)}}`;
  const info = serverInfoMember(result._meta);
  if (info === null) return undefined;
  if (era === 'modern') {
    // The fields finishResult defaults must be there already; the proxy's serverInfo replaces the upstream's.
    if (result.resultType === undefined || info === undefined) return undefined;
    if (method === 'resources/read' && (result.ttlMs === undefined || result.cacheScope === undefined))
      return undefined;
    const tail = `${info}},${idTail}`;
    if (!text.endsWith(tail)) return undefined;
    return `${text.slice(0, -tail.length)}"_meta":{"${SERVER_INFO_META}":${PROXY_INFO_JSON}}},${answerTail}`;
  }
  // A 2025-era client: serverInfo and resultType go; the result's last members are where they can be cut.
  if (result.ttlMs !== undefined || result.cacheScope !== undefined) return undefined;
  if (result._meta !== undefined && info === undefined && result.resultType !== undefined) return undefined;
  let cut = info ?? '';
  if (result.resultType !== undefined)
    cut = `"resultType":${JSON.stringify(result.resultType)}${cut ? `,${cut}` : ''}`;
  if (!cut) return text.endsWith(idTail) ? text.slice(0, -idTail.length) + answerTail : undefined;
  const tail = `${cut}},${idTail}`;
  if (!text.endsWith(tail)) return undefined;
  let head = text.slice(0, -tail.length);
  if (head.endsWith(',')) head = head.slice(0, -1);
  else if (!head.endsWith('{')) return undefined;
  return `${head}},${answerTail}`;
}

/**
 * `"_meta":{"<serverInfo key>":<value>}` as JSON.stringify writes it, when `_meta` holds the serverInfo
 * alone; undefined when there is no serverInfo; null when there is one beside other keys (not spliceable).
 */
function serverInfoMember(meta: unknown): string | null | undefined {
  if (meta === null || typeof meta !== 'object') return undefined;
  const info = (meta as Record<string, unknown>)[SERVER_INFO_META];
  if (info === undefined) return undefined;
  for (const key in meta) if (key !== SERVER_INFO_META) return null;
  return `"_meta":{"${SERVER_INFO_META}":${JSON.stringify(info)}}`;
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
