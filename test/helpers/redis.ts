import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { freePort } from '../../scripts/lib/free-port.ts';
import { createRedisClient } from '../../src/store/redis-client.ts';

export interface TestRedis {
  url: string;
  /** Stops a private server (a no-op for REDIS_URL: a shared server is not this test's to stop). */
  stop(): Promise<void>;
  /** Starts a stopped private server again on the same port. */
  restart(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server is not on PATH. Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) ' +
  'or point REDIS_URL at a Redis the tests may use.';

/**
 * A Redis for tests: REDIS_URL when set, else a private `redis-server` on a free port, without
 * persistence. `own: true` always starts a private one (tests that stop it to simulate an outage).
 * A missing binary fails the test with an install hint; it never skips.
 */
export async function privateRedis(opts: { own?: boolean } = {}): Promise<TestRedis> {
  const shared = process.env.REDIS_URL;
  if (shared && !opts.own) return { url: shared, stop: async () => {}, restart: async () => {} };
  const port = await freePort();
  let child: ChildProcess | undefined = await startServer(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await exited;
    },
    async restart() {
      if (!child) child = await startServer(port);
    },
  };
}

/**
 * A `redis-server` on `port` (127.0.0.1, no persistence) with `extra` arguments before them (a config
 * file first, for Sentinel), in `cwd`; resolves once it answers PING.
 */
export async function startServer(
  port: number,
  extra: { before?: string[]; after?: string[]; cwd?: string } = {},
): Promise<ChildProcess> {
  const args = [
    ...(extra.before ?? []),
    ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    ...(extra.after ?? []),
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: extra.cwd });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new Error(INSTALL_HINT) : err),
    );
    child.once('exit', (code) =>
      reject(new Error(`redis-server exited with ${code}: ${output.slice(-500)}`)),
    );
    const deadline = Date.now() + 10_000;
    const poll = () => {
      if (Date.now() > deadline)
        return reject(new Error(`redis-server did not start: ${output.slice(-500)}`));
      ping(port).then((ok) => (ok ? resolve() : setTimeout(poll, 25)));
    };
    poll();
  });
  child.removeAllListeners('exit');
  // A test process that dies without stop() must not leave its server behind.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  return child;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

/** The production client (no offline queue) for `url`, connected: it must be before the first command. */
export async function readyRedisClient(url: string, keyPrefix: string): Promise<Redis> {
  const client = createRedisClient({ kind: 'redis', url, keyPrefix }) as Redis;
  client.on('error', () => {});
  if (client.status !== 'ready') await new Promise((r) => client.once('ready', r));
  return client;
}
