/** Protocol revisions the proxy serves; the first is the stateless era. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';
/** The shape of every MCP revision; anything else in the header is garbage, not a future revision. */
const REVISION = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Whether a parsed POST body is 2026-07-28 traffic: it carries the per-request envelope claim, or
 * its MCP-Protocol-Version header names a modern revision. Mirrors the SDK's `isLegacyRequest`
 * without building a web Request, so the hot path can classify from the body it already parsed.
 * Unlike the SDK's plain string comparison, a header that is not a YYYY-MM-DD revision (e.g.
 * "garbage", which sorts after "2026-07-28") does not make a request modern: a 2025-era session
 * request with a garbage version must reach its session, which answers "unsupported protocol
 * version", instead of the modern handler's confusing "missing _meta envelope".
 */
export function isModernMessage(body: unknown, versionHeader: string | undefined): boolean {
  if (Array.isArray(body) || body === null || typeof body !== 'object') return false;
  const params = (body as { params?: { _meta?: Record<string, unknown> } }).params;
  if (params?._meta && PROTOCOL_VERSION_META in params._meta) return true;
  const version = versionHeader?.trim();
  return version !== undefined && REVISION.test(version) && version >= MODERN_VERSIONS[0];
}
