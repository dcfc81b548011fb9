/**
 * `npm run lab`: the federation lab of docker-compose.yml as local processes (topology in
 * scripts/lab/topology.ts): Redis (`redis-server` from PATH), an OTLP/HTTP trace viewer in place of Jaeger,
 * the OAuth authorization server, the plain / SigV4 / OAuth sample upstreams, the core proxy (with the
 * stdio sample as its child) and the edge proxy in front of it. Prints the endpoints and runs until Ctrl-C.
 *
 *   --demo          after start-up, make a few calls through the edge and print what happened
 *   --exit          with --demo: stop the lab after the demo (exit 1 if a check failed)
 *   --free-ports    every service on a free port instead of its fixed one (a taken fixed port falls back
 *                   to a free one anyway)
 *   --state-dir D   audit files, spans and logs go here (default: a new directory under the OS temp dir)
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ReceivedCall } from '../upstreams/lib/tools-server-factory.ts';
import { runDemo } from './lab/demo.ts';
import { ProcessGroup } from './lab/processes.ts';
import {
  type LabService,
  localCommand,
  localContext,
  REPO_ROOT,
  SERVICES,
  type ServiceName,
  startLevels,
  url,
} from './lab/topology.ts';
import { freePort } from './lib/free-port.ts';

const { values: flags } = parseArgs({
  options: {
    demo: { type: 'boolean', default: false },
    exit: { type: 'boolean', default: false },
    'free-ports': { type: 'boolean', default: false },
    'state-dir': { type: 'string' },
  },
  strict: true,
});
if (flags.exit && !flags.demo) {
  process.stderr.write('lab: --exit only makes sense with --demo\n');
  process.exit(2);
}
const interactive = !flags.exit;
const say = (line = '') => process.stdout.write(`${line}\n`);

const stateDir = flags['state-dir']
  ? resolve(flags['state-dir'])
  : await mkdtemp(join(tmpdir(), 'mcp-fed-lab-'));
const logDir = join(stateDir, 'logs');
await mkdir(logDir, { recursive: true });
const spansFile = join(stateDir, 'spans.jsonl');

const ports: Partial<Record<ServiceName, number>> = {};
const moved: string[] = [];
for (const s of SERVICES) {
  if (flags['free-ports']) ports[s.name] = await freePort();
  else if (!(await isFree(s.port))) {
    ports[s.name] = await freePort();
    moved.push(`${s.name} ${s.port} → ${ports[s.name]}`);
  }
}
const ctx = localContext({ stateDir, ports });

const group = new ProcessGroup(logDir);
const receivedCalls: ReceivedCall[] = [];
let shuttingDown: Promise<void> | undefined;
const shutdown = (code: number) => {
  shuttingDown ??= (async () => {
    if (interactive) say('\nlab: stopping (edge first, Redis last)...');
    await group.stopAll();
    if (interactive) say(`lab: stopped; audit files, spans and logs stay in ${stateDir}`);
    process.exit(code);
  })();
  return shuttingDown;
};
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
process.on('exit', () => group.killAll());

function onLine(s: LabService): ((line: string, stream: 'stdout' | 'stderr') => void) | undefined {
  if (s.name === 'tools')
    return (line, stream) => {
      if (stream !== 'stderr' || !line.startsWith('CALL ')) return;
      try {
        receivedCalls.push(JSON.parse(line.slice(5)) as ReceivedCall);
        if (receivedCalls.length > 1_000) receivedCalls.shift();
      } catch {
        // a torn line in the log; the log file keeps it
      }
    };
  // The trace viewer prints each trace; while the lab runs for a person, pass that through.
  if (s.name === 'traces' && interactive)
    return (line, stream) => {
      if (stream === 'stdout' && !line.startsWith('LISTENING')) say(`[traces] ${line}`);
    };
  return undefined;
}

say(`lab: starting ${SERVICES.length} services (logs in ${logDir})`);
if (moved.length > 0) say(`lab: fixed ports taken, moved: ${moved.join(', ')}`);
const t0 = Date.now();
try {
  for (const level of startLevels()) {
    await Promise.all(
      level.map(async (s) => {
        const { command, args } = localCommand(s, ctx, { spansFile });
        const p = group.start({
          name: s.name,
          command,
          args,
          cwd: REPO_ROOT,
          env: s.env(ctx),
          onLine: onLine(s),
          ...(s.run.kind === 'redis' && {
            missingHint: 'install redis-server: apt-get install redis-server, or brew install redis',
          }),
        });
        await group.waitReady(p, ctx.port(s.name), s.probe);
      }),
    );
  }
} catch (err) {
  process.stderr.write(`lab: start-up failed: ${(err as Error).message}\n`);
  await group.stopAll();
  process.exit(1);
}
group.onUnexpectedExit = (p) =>
  process.stderr.write(`lab: ${p.name} exited (${p.exited?.signal ?? p.exited?.code}); see ${p.logPath}\n`);

say(`\nmcp-fed federation lab is up (${((Date.now() - t0) / 1000).toFixed(1)} s):`);
for (const s of [...SERVICES].reverse()) {
  const where =
    s.name === 'redis'
      ? `redis://127.0.0.1:${ctx.port('redis')}`
      : url(ctx, s.name, s.run.kind === 'traces' ? '/v1/traces' : (s.path ?? ''));
  say(`  ${s.name.padEnd(12)} ${where.padEnd(36)} ${s.role}`);
}
say(`  content      stdio child of the core          sample prompts and resources`);
say(`\n  connect an agent to ${url(ctx, 'edge', '/mcp')}`);
say(`  the core takes only the edge's API key (LAB_SECRETS.edgeKey in scripts/lab/topology.ts)`);
say(`  metrics and health: ${url(ctx, 'edge', '/metrics')}, ${url(ctx, 'core', '/readyz')}`);
say(`  audit: ${join(stateDir, 'edge-audit.jsonl')}, ${join(stateDir, 'core-audit.jsonl')}`);
say(`  spans: ${spansFile}`);

if (flags.demo) {
  let failures: string[];
  try {
    failures = await runDemo({
      edgeUrl: url(ctx, 'edge', '/mcp'),
      edgeAudit: join(stateDir, 'edge-audit.jsonl'),
      coreAudit: join(stateDir, 'core-audit.jsonl'),
      spansFile,
      receivedCalls: () => receivedCalls,
      out: say,
    });
  } catch (err) {
    failures = [(err as Error).message];
    process.stderr.write(`lab: demo failed: ${(err as Error).stack ?? err}\n`);
  }
  if (flags.exit) await shutdown(failures.length === 0 ? 0 : 1);
}
say('\nlab: running; Ctrl-C stops every process');

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}
