/**
 * The lab's child processes: each one's stdout and stderr go to `<logDir>/<name>.log` (and, line by line,
 * to whoever listens), readiness is the service's probe, and stopping is SIGTERM in reverse start order
 * with a SIGKILL after a grace period, so the proxies can flush their audit files and traces.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Probe } from './topology.ts';

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

export interface LabProcess {
  name: string;
  proc: ChildProcess;
  logPath: string;
  /** Set once the process has exited. */
  exited?: { code: number | null; signal: NodeJS.Signals | null };
  /** Why it could not be started at all. */
  failure?: string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Said when the program is not found, e.g. how to install it. */
  missingHint?: string;
  /** Every complete line of stdout / stderr. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export class ProcessGroup {
  private readonly started: LabProcess[] = [];
  private readonly logs: WriteStream[] = [];
  /** Called when a child exits while the group is not stopping (a crash). */
  onUnexpectedExit?: (p: LabProcess) => void;
  private stopping = false;

  constructor(private readonly logDir: string) {}

  start(opts: StartOptions): LabProcess {
    const logPath = join(this.logDir, `${opts.name}.log`);
    const log = createWriteStream(logPath, { flags: 'a' });
    this.logs.push(log);
    const proc = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal reaches the lab alone, which then stops the
      // children in order (edge first, Redis last) instead of all of them racing at once.
      detached: true,
    });
    const p: LabProcess = { name: opts.name, proc, logPath };
    this.started.push(p);
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      proc[stream]?.setEncoding('utf8').on('data', (chunk: string) => {
        log.write(chunk);
        if (!opts.onLine) return;
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) opts.onLine(line, stream);
      });
    }
    proc.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'ENOENT' && opts.missingHint ? ` (${opts.missingHint})` : '';
      p.failure = `cannot start ${opts.command}: ${err.message}${hint}`;
      log.write(`\n[lab] ${p.failure}\n`);
      p.exited = { code: -1, signal: null };
      if (!this.stopping) this.onUnexpectedExit?.(p);
    });
    proc.once('exit', (code, signal) => {
      p.exited = { code, signal };
      if (!this.stopping) this.onUnexpectedExit?.(p);
    });
    return p;
  }

  /** Resolves when the probe answers; rejects with the end of the log when the process dies or times out. */
  async waitReady(p: LabProcess, port: number, probe: Probe): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (p.failure) throw new Error(`${p.name}: ${p.failure}`);
      if (p.exited)
        throw new Error(`${p.name} exited (${p.exited.signal ?? p.exited.code})${tail(p.logPath)}`);
      if (await probeOnce(port, probe)) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`${p.name} not ready after ${READY_TIMEOUT_MS / 1000} s${tail(p.logPath)}`);
  }

  /** Stops every child, the last started first; resolves when all have exited. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const p of [...this.started].reverse()) await stopOne(p);
    await Promise.all(this.logs.map((l) => new Promise<void>((r) => l.end(() => r()))));
  }

  /** Last resort when this process exits without stopAll (an uncaught error): no child outlives the lab. */
  killAll(): void {
    for (const p of this.started) if (!p.exited) p.proc.kill('SIGKILL');
  }
}

function stopOne(p: LabProcess): Promise<void> {
  if (p.exited || p.proc.exitCode !== null || p.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => p.proc.kill('SIGKILL'), STOP_GRACE_MS);
    p.proc.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    p.proc.kill('SIGTERM');
  });
}

function tail(logPath: string): string {
  try {
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-12);
    return lines.length > 0 && lines[0] !== '' ? `; the end of ${logPath}:\n${lines.join('\n')}` : '';
  } catch {
    return '';
  }
}

async function probeOnce(port: number, probe: Probe): Promise<boolean> {
  if (probe.kind === 'redis') return redisPing(port);
  try {
    const res = await fetch(`http://127.0.0.1:${port}${probe.path}`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return probe.expect === '2xx' ? res.ok : res.status < 500;
  } catch {
    return false;
  }
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
