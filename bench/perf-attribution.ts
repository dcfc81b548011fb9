/**
 * CPU per call by function, from Linux `perf` (`npm run bench:profile -- --perf`). V8's own profiler
 * (`--cpu-prof`) samples wall time whenever the thread is not idle, so a socket write that wakes the
 * peer on a 2-CPU machine counts its wait too; `perf record` samples CPU time only. Node is started with
 * `--perf-basic-prof` so JIT frames have names, and each sample is charged to its innermost JavaScript
 * frame: the builtins, runtime and GC work that function caused are its own (`(no js)` is the event
 * loop, the kernel and V8 threads outside any JavaScript frame).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

export const PERF_HZ = 4000;

export interface Attribution {
  /** µs of CPU per call in all. */
  total: number;
  /** µs per call charged to mcp-fed's own files (`dist/src/` or `src/`). */
  own: number;
  frames: { name: string; micros: number }[];
}

/** Whether `perf` can sample here (installed, and allowed to attach). */
export function perfAvailable(): boolean {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts sampling `pid`; stop() ends the recording (SIGINT) and resolves once the data file is written. */
export function recordPerf(pid: number, file: string): { stop(): Promise<void> } {
  const perf: ChildProcess = spawn(
    'perf',
    ['record', '-F', String(PERF_HZ), '-g', '-p', String(pid), '-o', file],
    { stdio: 'ignore' },
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        perf.once('exit', () => resolve());
        perf.kill('SIGINT');
      }),
  };
}

/** Reads a recording and charges each sample to its innermost JavaScript frame. */
export function attributePerf(file: string, calls: number, top: number, root = process.cwd()): Attribution {
  const script = execFileSync('perf', ['script', '-i', file], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return attribute(script, calls, top, root);
}

/** The attribution of `perf script` text (exported for the test). */
export function attribute(script: string, calls: number, top: number, root: string): Attribution {
  const micros = 1e6 / PERF_HZ / Math.max(1, calls);
  const charged = new Map<string, number>();
  let samples = 0;
  let innermost: string | undefined;
  let inSample = false;
  const end = () => {
    if (!inSample) return;
    samples++;
    const name = innermost ?? '(no js)';
    charged.set(name, (charged.get(name) ?? 0) + 1);
    inSample = false;
    innermost = undefined;
  };
  for (const line of script.split('\n')) {
    if (line.trim() === '') {
      end();
      continue;
    }
    if (!line.startsWith('\t') && !line.startsWith(' ')) {
      end();
      inSample = true;
      continue;
    }
    if (innermost !== undefined) continue;
    // "\t    7ff1d00fd6c2 JS:*serve file:///…/fast-path.js:68:16+0x2 (/tmp/perf-123.map)"
    const frame = /^\s*[0-9a-f]+ JS:[*^~]?(.*?)(?:\+0x[0-9a-f]+)? \(/.exec(line);
    if (frame?.[1] !== undefined) innermost = frame[1].replace(`file://${root}/`, '').trim() || '(anonymous)';
  }
  end();
  const frames = [...charged.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, n]) => ({ name, micros: n * micros }));
  let own = 0;
  for (const [name, n] of charged) if (/(?:^| )(?:dist\/)?src\//.test(name)) own += n;
  return { total: samples * micros, own: own * micros, frames };
}
