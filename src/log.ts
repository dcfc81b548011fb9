import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. It writes to stderr so `mcp-fed stdio` keeps stdout for the protocol.
 * Secrets and argument values are never logged; `redact` is a last line of defence.
 */
export function createLogger(level = process.env.MCP_FED_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'mcp-fed' },
      redact: { paths: ['*.authorization', '*.clientSecret', '*.headers', 'headers'], censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: false }),
  );
}

/** A logger that drops everything (tests, `check`). */
export const silentLogger: Logger = pino({ level: 'silent' });
