import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface StartedServer {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
  /** Kills the process and starts the same script again on the same port (for kill-and-restart tests). */
  restart(): Promise<StartedServer>;
}

const LISTEN_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 3_000;

/** Spawns `node --import tsx <script> ...args` from the repo root and waits for its LISTENING line. */
export async function startServer(script: string, args: string[] = []): Promise<StartedServer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });

  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const fail = (why: string) => {
      cleanup();
      proc.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')}: ${why}\n--- stderr ---\n${stderr}`));
    };
    const onData = (chunk: string) => {
      stdout += chunk;
      const match = /^LISTENING (\S+)$/m.exec(stdout);
      if (match?.[1]) {
        cleanup();
        resolve(match[1]);
      }
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited early (code ${code}, ${signal})`);
    const timer = setTimeout(
      () => fail(`no LISTENING line within ${LISTEN_TIMEOUT_MS} ms`),
      LISTEN_TIMEOUT_MS,
    );
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout?.off('data', onData);
      proc.off('exit', onExit);
    };
    proc.stdout?.setEncoding('utf8').on('data', onData);
    proc.once('exit', onExit);
  });
  // Keep draining stdout so a chatty server can never block on a full pipe.
  proc.stdout?.resume();

  const stop = () => stopProcess(proc);
  const restart = async () => {
    await stop();
    const port = new URL(url).port;
    return startServer(script, [...withoutFlag(args, '--port'), '--port', port]);
  };
  return { url, proc, stop, restart };
}

function withoutFlag(args: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === flag) i++;
    else if (!arg.startsWith(`${flag}=`)) out.push(arg);
  }
  return out;
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process has exited. */
export function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), KILL_GRACE_MS);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}
