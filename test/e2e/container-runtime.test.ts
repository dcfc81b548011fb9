// What the container image runs, without a container engine: the compiled build (tsc -p
// tsconfig.build.json into a temp dir) laid out like the image's /app (package.json, production-only
// node_modules, dist/, config/container.yaml), started the way its ENTRYPOINT does: plain node, no
// TypeScript loader, NODE_OPTIONS cleared. Then the AgentCore Runtime traffic the image must serve.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LEGACY, modernClient, modernRequest, rawPost } from '../helpers/federation.ts';
import { REPO_ROOT } from '../helpers/spawn-server.ts';
import { childPids, freePort, spawnCli, startServe, textOf, withTimeout } from './cli-helpers.ts';

const AGENTCORE_HEADERS = {
  'mcp-session-id': 'agentcore-4f1c2d3e-0000-4000-8000-000000000001',
  'x-amzn-bedrock-agentcore-runtime-session-id': 'b1e7a1f0-33c4-4d58-9a0e-3f6c7f1b2a90-runtime-session',
};

let app: string;
/** The environment the image gives the process: no loader, node on PATH, no config variables of ours. */
let env: NodeJS.ProcessEnv;

/** `npm ci --omit=dev`, approximated: the lockfile's production packages, linked from the repo's node_modules. */
async function productionNodeModules(root: string): Promise<void> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  for (const [key, pkg] of Object.entries(lock.packages)) {
    // Top-level packages only: nested node_modules come along inside their parent.
    if (key === '' || pkg.dev === true || key.lastIndexOf('node_modules/') !== 0) continue;
    const target = join(root, key);
    await mkdir(dirname(target), { recursive: true });
    await symlink(join(REPO_ROOT, key), target, 'dir');
  }
}

beforeAll(async () => {
  app = await mkdtemp(join(tmpdir(), 'mcp-fed-image-'));
  // The image's build step, emit only: type errors are `tsc -p .`'s to report (and fail the image
  // build, which type-checks); here checking would double the run time on a shared machine.
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  const build = [
    tsc,
    '-p',
    join(REPO_ROOT, 'tsconfig.build.json'),
    '--outDir',
    join(app, 'dist'),
    '--noCheck',
  ];
  await promisify(execFile)(process.execPath, build, { cwd: REPO_ROOT });
  await copyFile(join(REPO_ROOT, 'package.json'), join(app, 'package.json'));
  await mkdir(join(app, 'config'));
  await copyFile(join(REPO_ROOT, 'config/container.yaml'), join(app, 'config/container.yaml'));
  await productionNodeModules(app);
  env = {
    NODE_OPTIONS: '',
    NODE_ENV: 'production',
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    MCP_FED_CONFIG: '',
    MCP_FED_CONFIG_YAML: '',
  };
}, 120_000);

afterAll(async () => {
  if (app) await rm(app, { recursive: true, force: true });
});

/**
 * The image's ENTRYPOINT (`node /app/dist/src/main.js`), run from its WORKDIR (the config's relative
 * upstream paths resolve there); `sh` only changes directory, then `exec`s node in its place.
 */
const entrypoint = () => [
  '/bin/sh',
  '-c',
  'cd "$0" && exec "$@"',
  app,
  process.execPath,
  join(app, 'dist/src/main.js'),
];

/** A command that runs to completion (`check`), like the image with other arguments. */
async function runImage(args: string[], extraEnv: NodeJS.ProcessEnv) {
  const cli = spawnCli(args, { command: entrypoint(), env: { ...env, ...extraEnv } });
  cli.proc.stdin!.end();
  const { code } = await withTimeout(cli.exited, 30_000, `${args.join(' ')} did not exit`);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Every upstream of the config is up (the samples are children that take a moment on a busy machine). */
async function allUpstreamsReady(base: string, count: number): Promise<void> {
  await eventually(async () => {
    const body = (await (await fetch(`${base}/readyz`)).json()) as { upstreams: { state: string }[] };
    expect(body.upstreams.filter((u) => u.state === 'ready')).toHaveLength(count);
  }, 25_000);
}

/** The image listens on 0.0.0.0; clients here connect over loopback. */
const local = (url: string) => url.replace('//0.0.0.0:', '//127.0.0.1:');

function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

describe('the image: serve --config config/container.yaml from the compiled build', () => {
  let srv: Awaited<ReturnType<typeof startServe>>;
  let client: Client | undefined;

  beforeAll(async () => {
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false);
    const port = await freePort();
    // `serve --port` overrides the file's 8000 (the image listens on 8000; this machine may not be free).
    srv = await startServe(['serve', '--config', 'config/container.yaml', '--port', String(port)], {
      command: entrypoint(),
      env,
    });
    await allUpstreamsReady(srv.base, 2);
  }, 60_000);
  afterAll(async () => {
    await client?.close();
    await srv?.stop();
  });

  it('listens on every interface and answers /healthz', async () => {
    expect(srv.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/mcp$/);
    const res = await fetch(`${local(srv.base)}/healthz`);
    expect(res.status).toBe(200);
  });

  it('runs the proxy and its sample upstreams as compiled JS on plain node', () => {
    if (!existsSync('/proc')) return;
    const children = childPids(srv.proc.pid!);
    expect(children).toHaveLength(2);
    for (const pid of [srv.proc.pid!, ...children])
      expect(commandLine(pid)).not.toMatch(/tsx|--import|\.ts\b/);
    expect(children.map(commandLine).join('\n')).toMatch(/dist\/upstreams\/tools-server\.js/);
  });

  it('serves an SDK v2 client (version negotiation auto): list and call', async () => {
    client = await modernClient(local(srv.url), { versionNegotiation: { mode: 'auto' } });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['tools__echo', 'tools__add']));
    const result = await client.callTool({ name: 'tools__echo', arguments: { text: 'from the image' } });
    expect(textOf(result)).toBe('from the image');
  });

  it('serves 2026-07-28 requests carrying the session headers AgentCore Runtime stamps', async () => {
    const call = modernRequest(
      'tools/call',
      { name: 'tools__add', arguments: { a: 2, b: 3 } },
      7,
      'tools__add',
    );
    const reply = await rawPost(local(srv.url), call.body, { ...call.headers, ...AGENTCORE_HEADERS });
    expect(reply.status).toBe(200);
    expect(reply.json?.result?.structuredContent).toEqual({ sum: 5 });
    const list = modernRequest('tools/list', {}, 8);
    const listed = await rawPost(local(srv.url), list.body, { ...list.headers, ...AGENTCORE_HEADERS });
    expect(listed.status).toBe(200);
    expect((listed.json?.result?.tools as unknown[] | undefined)?.length).toBeGreaterThan(0);
  });

  it('serves a 2025-11-25 request with a session id it never issued statelessly (unknownId: stateless)', async () => {
    const reply = await rawPost(
      local(srv.url),
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'tools__echo', arguments: { text: 'hi' } },
      },
      { 'mcp-protocol-version': LEGACY, ...AGENTCORE_HEADERS },
    );
    expect(reply.status).toBe(200);
    expect(textOf(reply.json?.result)).toBe('hi');
    const init = await rawPost(
      local(srv.url),
      {
        jsonrpc: '2.0',
        id: 4,
        method: 'initialize',
        params: {
          protocolVersion: LEGACY,
          capabilities: {},
          clientInfo: { name: 'agentcore', version: '1' },
        },
      },
      AGENTCORE_HEADERS,
    );
    expect(init.status).toBe(200);
    expect(init.json?.result?.serverInfo).toMatchObject({ name: 'mcp-fed' });
  });
});

// Each starts its own proxy and sample children: generous limits for a busy shared machine.
describe('serve with no config at all, from the compiled build', () => {
  it('starts the sample federation (npm start) from dist/upstreams/*.js on plain node', async () => {
    const port = await freePort();
    const srv = await startServe(['serve', '--port', String(port)], { command: entrypoint(), env });
    try {
      await allUpstreamsReady(srv.base, 2);
      const children = childPids(srv.proc.pid!);
      expect(children).toHaveLength(2);
      for (const pid of children)
        expect(commandLine(pid)).toMatch(/^\S+ \S+\/dist\/upstreams\/(tools|content)-server\.js\b/);
    } finally {
      await srv.stop();
    }
  }, 60_000);
});

describe('config from the environment (no --config)', () => {
  // JSON is YAML too; `${NAME}` sets the port from the environment, as a platform's PORT would.
  const inline = JSON.stringify({
    listen: { host: '127.0.0.1', port: `\${LISTEN_PORT}`, path: '/agents/mcp' },
    sessions: { unknownId: 'stateless' },
    // Loads the PII hooks, which the compiled build must find as .js.
    pii: { mode: 'tokenize' },
    upstreams: [{ name: 'content', command: ['node', 'dist/upstreams/content-server.js'] }],
  });

  it('MCP_FED_CONFIG_YAML is served, and wins over the MCP_FED_CONFIG the image sets', async () => {
    const port = await freePort();
    const srv = await startServe(['serve'], {
      command: entrypoint(),
      env: {
        ...env,
        MCP_FED_CONFIG: 'config/container.yaml',
        MCP_FED_CONFIG_YAML: inline,
        LISTEN_PORT: String(port),
      },
    });
    try {
      expect(srv.url).toBe(`http://127.0.0.1:${port}/agents/mcp`);
      await allUpstreamsReady(srv.base, 1);
      const list = modernRequest('prompts/list');
      const reply = await rawPost(srv.url, list.body, { ...list.headers, ...AGENTCORE_HEADERS });
      expect(reply.status).toBe(200);
      expect((reply.json?.result?.prompts as unknown[] | undefined)?.length).toBeGreaterThan(0);
      // Consumed, not inherited: the stdio upstream does not see the document.
      const [child] = childPids(srv.proc.pid!);
      if (child !== undefined)
        expect(readFileSync(`/proc/${child}/environ`, 'utf8')).not.toContain('MCP_FED_CONFIG');
    } finally {
      await srv.stop();
    }
  }, 60_000);

  it('check validates MCP_FED_CONFIG_YAML, locating problems in it; MCP_FED_CONFIG names a file', async () => {
    const good = await runImage(['check'], {
      MCP_FED_CONFIG_YAML: inline,
      LISTEN_PORT: '8000',
    });
    expect(good).toMatchObject({ code: 0, stdout: 'ok: 1 upstream (content)\n' });
    const bad = await runImage(['check'], { MCP_FED_CONFIG_YAML: 'listen:\n  port: [8000\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^MCP_FED_CONFIG_YAML:\d+:\d+: YAML syntax error/);
    const file = await runImage(['check'], { MCP_FED_CONFIG: 'config/container.yaml' });
    expect(file).toMatchObject({ code: 0, stdout: 'ok: 2 upstreams (tools, content)\n' });
  }, 60_000);
});
