import { parseArgs } from 'node:util';

type OptionSpec = { type: 'string' | 'boolean' };

/** Strict CLI parsing: an unknown flag is a typo in a test or bench config, so fail loudly. */
export function parseCli<T extends Record<string, OptionSpec>>(options: T, argv = process.argv.slice(2)) {
  return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
}

export function intFlag(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined || typeof value === 'boolean') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
}

/**
 * Installs SIGTERM/SIGINT handlers that run `close` once and exit 0. A second signal,
 * or a close that hangs on an open stream, still ends the process.
 */
export function exitOnSignals(close: () => Promise<void>): void {
  let closing = false;
  const onSignal = () => {
    if (closing) process.exit(0);
    closing = true;
    setTimeout(() => process.exit(0), 2_000).unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Stdout belongs to the protocol in stdio mode, so diagnostics always go to stderr. */
export function logErr(...parts: unknown[]): void {
  process.stderr.write(
    `${parts.map((p) => (p instanceof Error ? (p.stack ?? p.message) : String(p))).join(' ')}\n`,
  );
}
