import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseConfig } from './load.ts';
import type { Config } from './schema.ts';

// From source the samples are TypeScript run through tsx; from a build (dist/src/config/*.js, as in the
// container image, where tsx is not installed) they are the sibling compiled dist/upstreams/*.js on plain node.
const COMPILED = import.meta.url.endsWith('.js');
// The repository root from source, dist/ from a build: where `--import tsx` resolves from.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** `node [--import tsx] <upstreams/NAME>`: the argv that runs a sample upstream, source or compiled. */
export function sampleCommand(name: 'tools-server' | 'content-server', args: string[] = []): string[] {
  const script = fileURLToPath(
    new URL(`../../upstreams/${name}${COMPILED ? '.js' : '.ts'}`, import.meta.url),
  );
  return [process.execPath, ...(COMPILED ? [] : ['--import', 'tsx']), script, ...args];
}

export interface DefaultFederation {
  config: Config;
  /** The sample HTTP upstream this process started; stopped with the proxy. */
  children: ChildProcess[];
  /** Where each started sample listens (logged at start-up, so an operator can reach it directly). */
  samples: { upstream: string; url: string; pid: number | undefined }[];
}

/**
 * The embedded default config of `npm start`: the credential-free samples of `upstreams/`. The tools
 * sample runs as its own HTTP server (started here on a free port), the content sample as a stdio child.
 */
export async function defaultFederation(): Promise<DefaultFederation> {
  const tools = await startHttpSample(sampleCommand('tools-server', ['--port', '0', '--name', 'tools']));
  const parsed = parseConfig({
    upstreams: [
      { name: 'tools', url: tools.url, transport: 'streamable-http' },
      {
        name: 'content',
        transport: 'stdio',
        command: sampleCommand('content-server'),
        cwd: ROOT,
      },
    ],
  });
  if (!parsed.ok) throw new Error(`embedded default config is invalid: ${JSON.stringify(parsed.problems)}`);
  return {
    config: parsed.config,
    children: [tools.proc],
    samples: [{ upstream: 'tools', url: tools.url, pid: tools.proc.pid }],
  };
}

/** Spawns a sample server (`argv` from {@link sampleCommand}) and waits for the `LISTENING <url>` line. */
export function startHttpSample(argv: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const [command, ...args] = argv as [string, ...string[]];
  const script = args.find((a) => /\.[jt]s$/.test(a)) ?? command;
  const proc = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  // Whatever way this process ends (a signal during start-up included), the sample must not outlive it.
  const killOnExit = () => proc.kill();
  process.once('exit', killOnExit);
  proc.once('exit', () => process.off('exit', killOnExit));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`${script} did not start within 20 s`));
    }, 20_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with code ${code}`));
    });
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /^LISTENING (\S+)$/m.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        proc.stdout!.resume();
        resolve({ url: m[1], proc });
      }
    });
  });
}
