/** Protocol revisions the proxy serves; the first is the stateless era. */
export const MODERN_VERSIONS = ['2026-07-28'] as const;
export const LEGACY_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
export const PROTOCOL_VERSION_META = 'io.modelcontextprotocol/protocolVersion';

/**
 * Whether a parsed POST body is 2026-07-28 traffic: it carries the per-request envelope claim, or
 * its MCP-Protocol-Version header names a modern revision. Mirrors the SDK's `isLegacyRequest`
 * without building a web Request, so the hot path can classify from the body it already parsed.
 */
export function isModernMessage(body: unknown, versionHeader: string | undefined): boolean {
  if (Array.isArray(body) || body === null || typeof body !== 'object') return false;
  const params = (body as { params?: { _meta?: Record<string, unknown> } }).params;
  if (params?._meta && PROTOCOL_VERSION_META in params._meta) return true;
  return versionHeader !== undefined && versionHeader >= MODERN_VERSIONS[0];
}
