/**
 * What `npm run bench` needs for its peer rows (issue 7): mcp-fed side by side with an existing npm
 * MCP proxy, `mcp-proxy` (punkpeye, a devDependency), in front of the same upstream, driven by the
 * same client in the same rounds (bench/run.ts).
 *
 * mcp-proxy's CLI fronts one stdio server (it spawns the command after `--`) and serves it over
 * Streamable HTTP at /mcp, both eras: 2026-07-28 per request (a fresh SDK Server per call) and the
 * 2025-era sessions. It cannot front an HTTP upstream (its `startStdioServer` goes the other way:
 * stdio downstream, HTTP upstream), so the fair pair is stdio on both sides:
 *
 * - `proxied`: mcp-fed with one upstream `{ transport: stdio, command: [node, --import, tsx,
 *   upstreams/tools-server.ts, --stdio] }` (its own child; public tool `tools__echo`);
 * - `peer`: `mcp-proxy --port P --host 127.0.0.1 --server stream --no-eventStore -- node --import
 *   tsx upstreams/tools-server.ts --stdio` (its own child; tool `echo`), otherwise its defaults
 *   (2025 `initialize` handshake to the child, sessions kept per 2025-era client);
 * - `direct`: the same tools-server over HTTP, no proxy: the reference both `added` figures use
 *   (a stdio server has no HTTP "direct", so each added p50 includes that proxy's stdio leg).
 *
 * Each proxy's CPU is its own process only; its stdio child's CPU is read separately.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export type PeerName = 'mcp-proxy';

const PEER_BIN = 'node_modules/mcp-proxy/dist/bin/mcp-proxy.mjs';
const PEER_PACKAGE = 'node_modules/mcp-proxy/package.json';
/** mcp-proxy prints this once its upstream client is connected, just before it listens. */
export const PEER_READY = /starting server on port (\d+)/;

/** The stdio upstream command, the same for both proxies. */
export const stdioUpstream = (): string[] => [
  process.execPath,
  '--import',
  'tsx',
  'upstreams/tools-server.ts',
  '--stdio',
];

/** `mcp-proxy@<version> <flags>`, or undefined when the devDependency is not installed. */
export function peerVersion(): string | undefined {
  if (!existsSync(PEER_BIN)) return undefined;
  try {
    const pkg = JSON.parse(readFileSync(PEER_PACKAGE, 'utf8')) as { version?: string };
    return `mcp-proxy@${pkg.version ?? 'unknown'} ${PEER_FLAGS.join(' ')}`;
  } catch {
    return `mcp-proxy@unknown ${PEER_FLAGS.join(' ')}`;
  }
}

/**
 * Only the Streamable HTTP endpoint (no /sse: nothing per call changes), and no resumability event
 * store: mcp-fed keeps no replay buffer either, so this is the like-for-like setting. The peer's
 * default (store on) frames every 2025-era response as SSE events with ids it buffers; measured
 * here on 2026-11-25 that took its legacy c1 p50 from ~1.3 to ~2.5-3.7 ms.
 */
export const PEER_FLAGS = ['--server', 'stream', '--no-eventStore'];

/** Node arguments that start mcp-proxy on `port` in front of the stdio tools-server. */
export function peerArgs(port: number): string[] {
  return [PEER_BIN, '--port', String(port), '--host', '127.0.0.1', ...PEER_FLAGS, '--', ...stdioUpstream()];
}

/** mcp-fed with the stdio tools-server as its only upstream, governance off (as the gov-off rows). */
export function writeFedStdioConfig(dir: string): { configPath: string; tool: string } {
  const config = {
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    upstreams: [{ name: 'tools', transport: 'stdio', command: stdioUpstream(), catalogRefreshSeconds: 0 }],
    audit: { sink: 'off' },
    pii: { mode: 'off' },
  };
  const configPath = join(dir, 'proxy-peer-stdio.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  return { configPath, tool: 'tools__echo' };
}

/** Resolves once 127.0.0.1:port accepts a TCP connection (mcp-proxy logs before it listens). */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The first child process of `pid` (the proxy's stdio upstream), from /proc; undefined if none. */
export function childPid(pid: number): number | undefined {
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      const first = children.split(/\s+/).find((c) => c !== '');
      if (first) return Number(first);
    }
  } catch {
    // No /proc children file (kernel option): the child CPU column stays empty.
  }
  return undefined;
}
