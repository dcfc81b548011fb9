import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/spawn-server.ts';

export { freePort } from '../../scripts/lib/free-port.ts';

/** `node bin/mcp-fed.js`, run from the repo root like a user would. */
export const CLI = [process.execPath, 'bin/mcp-fed.js'];

const LISTEN_TIMEOUT_MS = 30_000;

export interface Cli {
  proc: ChildProcess;
  /** Everything written to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the CLI (or any command given in full) from the repo root, capturing both streams. */
export function spawnCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; command?: string[]; detached?: boolean } = {},
): Cli {
  const [cmd, ...pre] = opts.command ?? CLI;
  const proc = spawn(cmd as string, [...pre, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, stdout: () => out, stderr: () => err, exited };
}

/** Runs the CLI to completion (for `check`). */
export async function runCli(args: string[], env?: NodeJS.ProcessEnv) {
  const cli = spawnCli(args, { env });
  cli.proc.stdin!.end();
  const { code } = await withTimeout(cli.exited, 30_000, `mcp-fed ${args.join(' ')} did not exit`);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

export interface Serving extends Cli {
  /** The MCP URL printed on the first line. */
  url: string;
  /** `http://host:port`, for the admin routes. */
  base: string;
  /** The catalog line (`catalog: N tools, ...`). */
  catalog: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how long the exit took. */
  stop(graceMs?: number): Promise<number>;
}

/** Starts `mcp-fed serve ...` (or `npm start`) and waits for the URL and catalog lines. */
export async function startServe(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; command?: string[]; detached?: boolean } = {},
): Promise<Serving> {
  const cli = spawnCli(args, opts);
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`no "listening" + "catalog" lines within ${LISTEN_TIMEOUT_MS} ms`),
      LISTEN_TIMEOUT_MS,
    );
    const fail = (why: string) => {
      clearTimeout(timer);
      cli.proc.kill('SIGKILL');
      reject(
        new Error(
          `${args.join(' ')}: ${why}\n--- stdout ---\n${cli.stdout()}\n--- stderr ---\n${cli.stderr()}`,
        ),
      );
    };
    const check = () => {
      const m = /^mcp-fed listening on (\S+)\n(catalog: [^\n]*)\n/m.exec(cli.stdout());
      if (m) {
        clearTimeout(timer);
        cli.proc.stdout!.off('data', check);
        resolve(m);
      }
    };
    cli.proc.stdout!.on('data', check);
    void cli.exited.then(({ code, signal }) => fail(`exited early (code ${code}, ${signal})`));
  });
  const url = match[1] as string;
  const stop = async (graceMs = 8_000) => {
    const t0 = Date.now();
    if (cli.proc.exitCode === null && cli.proc.signalCode === null) {
      const timer = setTimeout(() => cli.proc.kill('SIGKILL'), graceMs);
      cli.proc.kill('SIGTERM');
      await cli.exited;
      clearTimeout(timer);
    }
    return Date.now() - t0;
  };
  return { ...cli, url, base: new URL(url).origin, catalog: match[2] as string, stop };
}

/** Whether `port` can be bound on 127.0.0.1 (for the one fixed-port case, `npm start` on 8000). */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Whether something accepts TCP connections on host:port. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Pids of the direct children of `pid` (Linux /proc; empty elsewhere). */
export function childPids(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = statField(Number(entry), 1);
    if (ppid === String(pid)) out.push(Number(entry));
  }
  return out;
}

/** True when the process is gone (or a zombie nobody has reaped yet). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  return statField(pid, 0) === 'Z';
}

/** Field of /proc/PID/stat after the `(comm)`: 0 = state, 1 = ppid. */
function statField(pid: number, index: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index];
  } catch {
    return undefined;
  }
}

/** The pino JSON lines of a stderr capture. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export async function tempDir(): Promise<{
  dir: string;
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-fed-e2e-'));
  return {
    dir,
    async write(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The text of a tool result's first content block (SDK v1 results are a union with `toolResult`). */
export function textOf(result: unknown): string | undefined {
  const content = (result as { content?: { type: string; text?: string }[] }).content;
  return content?.[0]?.type === 'text' ? content[0].text : undefined;
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]);
}

/**
 * YAML of a config federating a running tools-server over HTTP and content-server as a stdio child;
 * `extra` is appended to the upstreams list (more `  - name: ...` entries).
 */
export function sampleConfigYaml(
  toolsUrl: string,
  opts: { listen?: { host: string; port: number }; extra?: string } = {},
): string {
  const content = [process.execPath, '--import', 'tsx', join(REPO_ROOT, 'upstreams/content-server.ts')];
  const listen = opts.listen ?? { host: '127.0.0.1', port: 0 };
  return `# written by test/e2e
listen:
  host: ${JSON.stringify(listen.host)}
  port: ${listen.port}
upstreams:
  - name: tools
    url: ${JSON.stringify(toolsUrl)}
    transport: streamable-http
  - name: content
    transport: stdio
    command: ${JSON.stringify(content)}
    cwd: ${JSON.stringify(REPO_ROOT)}
${opts.extra ?? ''}`;
}
