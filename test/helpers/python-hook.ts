import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT, stopProcess } from './spawn-server.ts';

export interface PythonHook {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a remote hook written in Python (`python3 script ...args`) and waits for its "listening on URL" line. */
export async function startPythonHook(
  script: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<PythonHook> {
  const proc = spawn('python3', [script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-4_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail('no "listening on" line within 10 s'), 10_000);
    const fail = (why: string) => {
      clearTimeout(timer);
      proc.kill('SIGKILL');
      reject(new Error(`python3 ${script}: ${why}\n${stderr}`));
    };
    proc.once('exit', (code) => fail(`exited early (code ${code})`));
    proc.once('error', (err) => fail(`cannot start python3 (${err.message}); install python3`));
    proc.stdout?.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const m = /listening on (\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve(m[1]);
      }
    });
  });
  proc.stdout?.resume();
  return { url, proc, stop: () => stopProcess(proc) };
}
