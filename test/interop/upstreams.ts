/**
 * Starting the matrix's upstreams as real processes: the SDK v1 and v2 fixtures, the AgentCore
 * front over a stateless v1 server, and server-everything's own entry in each of its transports.
 * Each gives how a client reaches it directly and the proxy's upstream entry for it (prefix "").
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-port.ts';
import { REPO_ROOT, startServer, stopProcess } from '../helpers/spawn-server.ts';
import type { Endpoint } from './clients.ts';

export interface RunningUpstream {
  direct: Endpoint;
  proxy: Record<string, unknown>;
  stop(): Promise<void>;
}

const V1 = 'test/interop/servers/sdk-v1-server.ts';
const V2 = 'test/interop/servers/sdk-v2-server.ts';
const FRONT = 'test/interop/servers/agentcore-front.ts';
export const EVERYTHING_ENTRY = join(
  REPO_ROOT,
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);

const entry = (url: string) => ({ name: 'up', prefix: '', url, catalogRefreshSeconds: 0, timeoutMs: 20_000 });

async function httpFixture(script: string, args: string[]): Promise<RunningUpstream> {
  const server = await startServer(script, [...args, '--port', '0']);
  return { direct: { kind: 'http', urls: [server.url] }, proxy: entry(server.url), stop: server.stop };
}

export const startV1 = (flags: string[]) => httpFixture(V1, flags);
export const startV2 = (legacy: 'reject' | 'stateless') => httpFixture(V2, ['--legacy', legacy]);

export async function startAgentCore(): Promise<RunningUpstream> {
  const backend = await startServer(V1, ['--stateless', '--port', '0']);
  const front = await startServer(FRONT, ['--target', backend.url, '--port', '0']);
  return {
    direct: { kind: 'http', urls: [front.url] },
    proxy: entry(front.url),
    stop: async () => {
      await Promise.all([front.stop(), backend.stop()]);
    },
  };
}

export async function startEverything(mode: 'stdio' | 'sse' | 'streamableHttp'): Promise<RunningUpstream> {
  const command = [process.execPath, EVERYTHING_ENTRY];
  if (mode === 'stdio') {
    return {
      direct: { kind: 'stdio', command: [...command, 'stdio'] },
      proxy: {
        name: 'up',
        prefix: '',
        command: [...command, 'stdio'],
        catalogRefreshSeconds: 0,
        timeoutMs: 20_000,
      },
      stop: async () => {},
    };
  }
  const port = await freePort();
  const proc = spawn(process.execPath, [EVERYTHING_ENTRY, mode], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForListening(proc, port);
  const url = `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}`;
  return {
    direct: mode === 'sse' ? { kind: 'sse', url } : { kind: 'http', urls: [url] },
    proxy: { ...entry(url), ...(mode === 'sse' && { transport: 'sse' }) },
    stop: () => stopProcess(proc),
  };
}

/** server-everything prints no URL; it logs "... port N" on stderr once it listens. */
function waitForListening(proc: ChildProcess, port: number): Promise<void> {
  let output = '';
  proc.stdout?.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('did not listen within 20 s'), 20_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`server-everything: ${why}\n${output.slice(-2_000)}`));
    };
    const early = (code: number | null) => fail(`exited early (${code})`);
    proc.once('exit', early);
    const listening = new RegExp(`port ${port}\\b`);
    const onData = (chunk: string) => {
      output += chunk;
      if (!listening.test(output)) return;
      // Only this listener goes: a later "port N" line (its shutdown message) must not remove
      // stopProcess's exit listener, or stopping it would wait forever.
      clearTimeout(timer);
      proc.off('exit', early);
      proc.stderr?.off('data', onData).resume();
      resolve();
    };
    proc.stderr?.setEncoding('utf8').on('data', onData);
  });
}
