/**
 * Child processes of the benchmark. Upstream, floor and proxy each run as their own process so
 * their CPU can be read from /proc without the load client's share mixed in.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Child {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const live = new Set<ChildProcess>();

/**
 * Starts `node ...args` and resolves once a stdout line matches `ready` (its first group is the
 * URL). stderr goes to `<logDir>/<name>.log` so a failure can be explained without flooding the
 * table; stdout keeps being drained so a chatty child never blocks on a full pipe.
 */
export function startNode(name: string, args: string[], ready: RegExp, logDir: string): Promise<Child> {
  const logPath = join(logDir, `${name}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: process.cwd() });
  live.add(child);
  child.stderr?.pipe(log);
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-1500);
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    let started = false;
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      const tail = stderrTail.trim().split('\n').slice(-8).join('\n');
      reject(new Error(`${name} ${why}${tail ? `:\n${tail}` : ''}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    // 'close' rather than 'exit': it comes after stderr is drained, so the reason is complete.
    child.once('close', (code, signal) => {
      live.delete(child);
      if (!started) fail(`exited (${signal ?? code}) before it was ready`);
    });
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (started) return;
      seen += chunk;
      const match = ready.exec(seen);
      if (!match?.[1] || child.pid === undefined) return;
      started = true;
      clearTimeout(timer);
      resolve({ name, pid: child.pid, url: match[1], stop: () => stopChild(child) });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Last-resort cleanup for an interrupted run: only the children this process started. */
export function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU of a whole process (all threads, GC included), in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // comm (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / clockTicks();
}
