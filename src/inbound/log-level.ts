import { LOG_LEVEL_META } from '../router/meta.ts';

/** RFC 5424 severities, least severe first (MCP "Logging"). */
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/**
 * Whether a notification an upstream sent during a 2026-07-28 request may reach that request's
 * stream: log messages only at or above the level the request set in `_meta`, none without one
 * (the revision's MUST); every other notification passes. 2025-era sessions filter upstream instead
 * (their logging/setLevel goes to their own upstream sessions).
 */
export function modernNotificationFilter(
  meta: Record<string, unknown> | undefined,
): (method: string, params: Record<string, unknown> | undefined) => boolean {
  const wanted = LEVELS.indexOf(String(meta?.[LOG_LEVEL_META] ?? ''));
  return (method, params) => {
    if (method !== 'notifications/message') return true;
    if (wanted === -1) return false;
    const level = LEVELS.indexOf(String(params?.level ?? ''));
    return level === -1 || level >= wanted;
  };
}
