/**
 * The federation lab's topology, the one description behind both ways of running it:
 * `npm run lab` (scripts/lab.ts, local processes) starts exactly this, and test/unit/compose-lab.test.ts
 * checks that docker-compose.yml says the same (services, ports, commands, environment, dependencies,
 * health probes, config files). Change a service here and in docker-compose.yml together.
 *
 *   client ─▶ edge (8000) ─▶ core (8100) ─┬─▶ tools        (3103, plain)
 *                                         ├─▶ aws-tools    (3101, SigV4)
 *                                         ├─▶ oauth-tools  (3102, OAuth; tokens from auth-server 3100)
 *                                         └─▶ content      (stdio child of the core)
 *   core ─▶ redis (6380)    edge, core ─▶ traces (4318: Jaeger in compose, scripts/lab/trace-viewer.ts here)
 *
 * Every service listens on its fixed port, in its container and locally (where a taken port falls back
 * to a free one). Secrets are lab-only fakes, the same in both.
 */
import { fileURLToPath } from 'node:url';

export const SERVICE_NAMES = [
  'redis',
  'traces',
  'auth-server',
  'tools',
  'aws-tools',
  'oauth-tools',
  'core',
  'edge',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Fake credentials of the lab; nothing outside it accepts them. */
export const LAB_SECRETS = {
  clientSecret: 'mcp-fed-lab-client-secret-not-for-production',
  awsAccessKeyId: 'AKIAMCPFEDLAB0000001',
  awsSecretAccessKey: 'mcpFedLabFakeSecretKey/NotForProduction0001',
  edgeKey: 'mcp-fed-lab-edge-key-not-for-production',
  vaultKey: 'mcp-fed-lab-vault-key-not-for-production',
} as const;

/** Where the two ways of running the lab differ: addresses, paths, and how a sample is launched. */
export interface LabContext {
  mode: 'local' | 'compose';
  /** How one service reaches another: 127.0.0.1 locally, the service name on the compose network. */
  host(name: ServiceName): string;
  port(name: ServiceName): number;
  /** The interface every service binds. */
  bindHost: string;
  /** Where the proxies write their audit files (and, locally, the trace viewer its spans). */
  stateDir: string;
  /** The core's stdio upstream: program, script, and NODE_OPTIONS of that child. */
  node: string;
  contentServer: string;
  contentNodeOptions: string;
}

export type Probe =
  /** redis PING. */
  | { kind: 'redis' }
  /** An HTTP GET on the service's port: `2xx` wants a success, `any` any HTTP answer (a socket that speaks HTTP). */
  | { kind: 'http'; path: string; expect: '2xx' | 'any' };

export type Run =
  | { kind: 'redis'; args(ctx: LabContext): string[] }
  /** The OTLP/HTTP trace receiver: Jaeger in compose, scripts/lab/trace-viewer.ts locally. */
  | { kind: 'traces' }
  /** A sample server of upstreams/ (`<script>.ts` locally, `/app/dist/upstreams/<script>.js` in the image). */
  | { kind: 'sample'; script: string; args(ctx: LabContext): string[] }
  /** mcp-fed itself on a config file of lab/. */
  | { kind: 'proxy'; config: string };

export interface LabService {
  name: ServiceName;
  /** The compose service name (only the trace receiver's differs: `jaeger`). */
  composeName: string;
  role: string;
  /** Fixed listening port: in the service's container, and locally unless it is taken. */
  port: number;
  /** Endpoint path printed for people (MCP path of the servers). */
  path?: string;
  dependsOn: ServiceName[];
  /** Readiness: polled by the local runner, a healthcheck in compose (except where `composeProbe` is false). */
  probe: Probe;
  /** False where the compose image has no tool to run a probe with (Jaeger's image has no shell). */
  composeProbe: boolean;
  run: Run;
  env(ctx: LabContext): Record<string, string>;
}

export const url = (ctx: LabContext, name: ServiceName, path = '') =>
  `http://${ctx.host(name)}:${ctx.port(name)}${path}`;

const noEnv = () => ({});

export const SERVICES: readonly LabService[] = [
  {
    name: 'redis',
    composeName: 'redis',
    role: 'store of the core (sessions, PII vault, rate-limit windows)',
    port: 6380,
    dependsOn: [],
    probe: { kind: 'redis' },
    composeProbe: true,
    run: {
      kind: 'redis',
      args: (ctx) => [
        ...['--port', String(ctx.port('redis')), '--bind', ctx.bindHost, '--protected-mode', 'no'],
        ...['--save', '', '--appendonly', 'no'],
      ],
    },
    env: noEnv,
  },
  {
    name: 'traces',
    composeName: 'jaeger',
    role: 'OTLP/HTTP trace receiver (Jaeger in compose; prints each trace here)',
    port: 4318,
    dependsOn: [],
    probe: { kind: 'http', path: '/healthz', expect: '2xx' },
    composeProbe: false,
    run: { kind: 'traces' },
    env: noEnv,
  },
  {
    name: 'auth-server',
    composeName: 'auth-server',
    role: 'OAuth 2.0 authorization server (client credentials, JWKS)',
    port: 3100,
    dependsOn: [],
    probe: { kind: 'http', path: '/.well-known/openid-configuration', expect: '2xx' },
    composeProbe: true,
    run: {
      kind: 'sample',
      script: 'auth-server',
      args: (ctx) => [
        ...['--host', ctx.bindHost, '--port', String(ctx.port('auth-server'))],
        ...['--issuer-url', url(ctx, 'auth-server')],
      ],
    },
    env: () => ({ MCP_FED_LAB_CLIENT_SECRET: LAB_SECRETS.clientSecret }),
  },
  {
    name: 'tools',
    composeName: 'tools',
    role: 'plain upstream; logs every call it receives',
    port: 3103,
    path: '/mcp',
    dependsOn: [],
    probe: { kind: 'http', path: '/mcp', expect: 'any' },
    composeProbe: true,
    run: {
      kind: 'sample',
      script: 'tools-server',
      args: (ctx) => [
        ...['--host', ctx.bindHost, '--port', String(ctx.port('tools'))],
        ...['--name', 'tools', '--log-calls'],
      ],
    },
    env: noEnv,
  },
  {
    name: 'aws-tools',
    composeName: 'aws-tools',
    role: 'upstream behind AWS SigV4',
    port: 3101,
    path: '/mcp',
    dependsOn: [],
    probe: { kind: 'http', path: '/mcp', expect: 'any' },
    composeProbe: true,
    run: {
      kind: 'sample',
      script: 'protected-server',
      args: (ctx) => [
        ...['--auth', 'sigv4', '--host', ctx.bindHost, '--port', String(ctx.port('aws-tools'))],
        ...['--name', 'aws-tools', '--region', 'us-east-1', '--service', 'bedrock-agentcore'],
      ],
    },
    env: () => ({
      AWS_ACCESS_KEY_ID: LAB_SECRETS.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: LAB_SECRETS.awsSecretAccessKey,
    }),
  },
  {
    name: 'oauth-tools',
    composeName: 'oauth-tools',
    role: 'upstream behind OAuth (JWTs of auth-server)',
    port: 3102,
    path: '/mcp',
    // It needs the authorization server's JWKS only to check the first token, not to start.
    dependsOn: [],
    probe: { kind: 'http', path: '/mcp', expect: 'any' },
    composeProbe: true,
    run: {
      kind: 'sample',
      script: 'protected-server',
      args: (ctx) => [
        ...['--auth', 'oauth', '--host', ctx.bindHost, '--port', String(ctx.port('oauth-tools'))],
        ...['--name', 'oauth-tools', '--issuer', url(ctx, 'auth-server')],
        ...['--audience', url(ctx, 'oauth-tools', '/mcp'), '--scope', 'mcp:tools'],
      ],
    },
    env: noEnv,
  },
  {
    name: 'core',
    composeName: 'core',
    role: 'core proxy: the upstreams, Redis, ACL, rate limit, PII tokenization, audit',
    port: 8100,
    path: '/mcp',
    dependsOn: ['redis', 'traces', 'auth-server', 'tools', 'aws-tools', 'oauth-tools'],
    probe: { kind: 'http', path: '/readyz', expect: '2xx' },
    composeProbe: true,
    run: { kind: 'proxy', config: 'lab/core.yaml' },
    env: (ctx) => ({
      LAB_BIND_HOST: ctx.bindHost,
      LAB_CORE_PORT: String(ctx.port('core')),
      LAB_STATE_DIR: ctx.stateDir,
      LAB_REDIS_URL: `redis://${ctx.host('redis')}:${ctx.port('redis')}`,
      LAB_OTLP_ENDPOINT: url(ctx, 'traces'),
      LAB_TOOLS_URL: url(ctx, 'tools', '/mcp'),
      LAB_AWS_TOOLS_URL: url(ctx, 'aws-tools', '/mcp'),
      LAB_OAUTH_TOOLS_URL: url(ctx, 'oauth-tools', '/mcp'),
      LAB_AUTH_ISSUER: url(ctx, 'auth-server'),
      LAB_NODE: ctx.node,
      LAB_CONTENT_SERVER: ctx.contentServer,
      LAB_CONTENT_NODE_OPTIONS: ctx.contentNodeOptions,
      LAB_EDGE_KEY: LAB_SECRETS.edgeKey,
      MCP_FED_VAULT_KEY: LAB_SECRETS.vaultKey,
      MCP_FED_LAB_CLIENT_SECRET: LAB_SECRETS.clientSecret,
      AWS_ACCESS_KEY_ID: LAB_SECRETS.awsAccessKeyId,
      AWS_SECRET_ACCESS_KEY: LAB_SECRETS.awsSecretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
    }),
  },
  {
    name: 'edge',
    composeName: 'edge',
    role: 'edge proxy in front of the core: what agents connect to',
    port: 8000,
    path: '/mcp',
    dependsOn: ['core', 'traces'],
    probe: { kind: 'http', path: '/readyz', expect: '2xx' },
    composeProbe: true,
    run: { kind: 'proxy', config: 'lab/edge.yaml' },
    env: (ctx) => ({
      LAB_BIND_HOST: ctx.bindHost,
      LAB_EDGE_PORT: String(ctx.port('edge')),
      LAB_STATE_DIR: ctx.stateDir,
      LAB_CORE_URL: url(ctx, 'core', '/mcp'),
      LAB_OTLP_ENDPOINT: url(ctx, 'traces'),
      LAB_EDGE_KEY: LAB_SECRETS.edgeKey,
    }),
  },
];

export function service(name: ServiceName): LabService {
  const found = SERVICES.find((s) => s.name === name);
  if (!found) throw new Error(`no lab service ${name}`);
  return found;
}

const composeNames = new Map(SERVICES.map((s) => [s.name, s.composeName]));

/** The compose network: services by name, on their fixed ports, the image's compiled samples. */
export const COMPOSE_CONTEXT: LabContext = {
  mode: 'compose',
  host: (name) => composeNames.get(name) ?? name,
  port: (name) => service(name).port,
  bindHost: '0.0.0.0',
  stateDir: '/tmp',
  node: 'node',
  contentServer: '/app/dist/upstreams/content-server.js',
  contentNodeOptions: '--enable-source-maps',
};

/** Local processes on 127.0.0.1; `ports` overrides a service's fixed port (taken, or --free-ports). */
export function localContext(opts: {
  stateDir: string;
  ports?: Partial<Record<ServiceName, number>>;
}): LabContext {
  return {
    mode: 'local',
    host: () => '127.0.0.1',
    port: (name) => opts.ports?.[name] ?? service(name).port,
    bindHost: '127.0.0.1',
    stateDir: opts.stateDir,
    node: process.execPath,
    contentServer: `${REPO_ROOT}upstreams/content-server.ts`,
    contentNodeOptions: '--import tsx',
  };
}

/** Start order: every service after what it depends on; one level may start in parallel. */
export function startLevels(services: readonly LabService[] = SERVICES): LabService[][] {
  const levels: LabService[][] = [];
  const placed = new Set<ServiceName>();
  let rest = [...services];
  while (rest.length > 0) {
    const level = rest.filter((s) => s.dependsOn.every((d) => placed.has(d)));
    if (level.length === 0) throw new Error(`dependency cycle among ${rest.map((s) => s.name).join(', ')}`);
    for (const s of level) placed.add(s.name);
    levels.push(level);
    rest = rest.filter((s) => !placed.has(s.name));
  }
  return levels;
}

/** The compose healthcheck `test` of a probe, run inside the service's own container. */
export function composeHealthcheck(s: LabService): string[] | undefined {
  if (!s.composeProbe) return undefined;
  if (s.probe.kind === 'redis') return ['CMD', 'redis-cli', '-p', String(s.port), 'ping'];
  const ok = s.probe.expect === '2xx' ? 'r.ok' : 'r.status < 500';
  const script =
    `fetch('http://127.0.0.1:${s.port}${s.probe.path}')` +
    `.then((r) => process.exit(${ok} ? 0 : 1), () => process.exit(1))`;
  return ['CMD', 'node', '-e', script];
}

/** What compose runs for a service: `entrypoint` (when it overrides the image's) and `command`. */
export function composeCommand(s: LabService): { entrypoint?: string[]; command?: string[] } {
  const run = s.run;
  switch (run.kind) {
    case 'redis':
      return { command: ['redis-server', ...run.args(COMPOSE_CONTEXT)] };
    case 'traces':
      return {};
    case 'sample':
      return {
        entrypoint: ['node', `/app/dist/upstreams/${run.script}.js`],
        command: run.args(COMPOSE_CONTEXT),
      };
    case 'proxy':
      return { command: ['serve', '--config', `/${run.config}`] };
  }
}

/** What the local runner starts for a service (cwd: the repo root). */
export function localCommand(
  s: LabService,
  ctx: LabContext,
  opts: { spansFile: string },
): { command: string; args: string[] } {
  const node = (script: string, args: string[]) => ({
    command: process.execPath,
    args: ['--import', 'tsx', script, ...args],
  });
  const run = s.run;
  switch (run.kind) {
    case 'redis':
      return { command: 'redis-server', args: run.args(ctx) };
    case 'traces':
      return node('scripts/lab/trace-viewer.ts', [
        ...['--host', ctx.bindHost, '--port', String(ctx.port(s.name)), '--out', opts.spansFile],
      ]);
    case 'sample':
      return node(`upstreams/${run.script}.ts`, run.args(ctx));
    case 'proxy':
      return { command: process.execPath, args: ['bin/mcp-fed.js', 'serve', '--config', run.config] };
  }
}
