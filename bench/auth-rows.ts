/**
 * What `npm run bench` needs for its SigV4 and OAuth rows (issue "Upstream auth adapters",
 * Performance): the processes to start, the proxy configs, and the targets. A row here is "the same
 * upstream with an auth check, and the proxy signing for it".
 *
 * How the rows read: `proxied` is a call through mcp-fed to the protected upstream; `direct` and
 * `floor` go to the same sample server started with `--auth none` (the driver does not sign), and
 * `proxied_unauth` goes through a second mcp-fed, with the same config minus `auth`, to that same
 * `--auth none` server. The four are interleaved in every round (bench/run.ts), so
 * `auth_added_p50_ms = proxied.p50 − proxied_unauth.p50` is what signing (SigV4) or the cached token
 * (OAuth) adds, plus the upstream's own check (an aws4 SigV4 verification, or a cached JWT lookup).
 * The target: together ≤ 0.3 ms p50.
 *
 * Use from bench/run.ts:
 *   Object.assign(process.env, AUTH_BENCH_ENV);            // before spawning the row's processes
 *   const row = await startAuthRow('sigv4', spawnChild, tmp);
 *   const proxy = await spawnChild('proxy-sigv4', ['bin/mcp-fed.js', 'serve', '--config', row.configPath], …);
 *   const unauth = await spawnChild('proxy-sigv4-unauth', [… row.unauthConfigPath], …);
 *   targets = { direct: row.direct, floor: <floor in front of row.direct.url>,
 *               proxied: { url: proxy.url, tool: row.proxiedTool }, unauth: { url: unauth.url, tool: row.proxiedTool } };
 *   … measure …; await proxy.stop(); await unauth.stop(); await row.stop();
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIssuer } from './jwt-issuer.ts';
import { startExchangeServer } from './token-exchange-server.ts';

export type AuthKind = 'sigv4' | 'oauth2' | 'tokenExchange';

export const AUTH_KINDS: AuthKind[] = ['sigv4', 'oauth2', 'tokenExchange'];

/** Benchmark-only credentials, shared by the proxy (AWS chain, `${ENV}` reference) and the upstreams. */
export const AUTH_BENCH_ENV: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIAMCPFEDBENCH00001',
  AWS_SECRET_ACCESS_KEY: 'mcpFedBenchSecret/000000+abcdefghijklmnop',
  AWS_REGION: 'us-east-1',
  // The AWS chain must find the keys above and never try a network source (nothing leaves the machine).
  AWS_EC2_METADATA_DISABLED: 'true',
  MCP_FED_LAB_CLIENT_SECRET: 'mcp-fed-bench-client-secret-0123456789',
};

/** The shape of bench/run.ts's `spawnChild` (bench/procs.ts `startNode` with the log dir bound). */
export type SpawnChild = (
  name: string,
  args: string[],
  ready: RegExp,
) => Promise<{ pid: number; url: string; stop(): Promise<void> }>;

export interface AuthRow {
  kind: AuthKind;
  /** Row label for the table. */
  name: string;
  /** The proxy config with the upstream's `auth`, pointing at the protected upstream. */
  configPath: string;
  /** The same proxy config without `auth`, pointing at the `--auth none` reference: the baseline. */
  unauthConfigPath: string;
  /** The unauthenticated reference: the same sample server without the check (`--auth none`). */
  direct: { url: string; tool: string };
  /** The protected upstream the proxy signs for. */
  protectedUrl: string;
  /** Sent by the load client to both proxies (tokenExchange: the caller's JWT). */
  headers?: Record<string, string>;
  /** The tool name through the proxy. */
  proxiedTool: string;
  /** Processes of the row besides the proxy, for CPU accounting if wanted. */
  pids: Record<string, number>;
  stop(): Promise<void>;
}

const PROTECTED = 'upstreams/protected-server.ts';
const LISTENING = /LISTENING (\S+)/;
const tsx = (script: string, ...args: string[]) => ['--import', 'tsx', script, ...args];

/** Starts the row's upstreams (and its authorization server), writes the proxy config for them. */
export async function startAuthRow(kind: AuthKind, spawn: SpawnChild, dir: string): Promise<AuthRow> {
  const started: { name: string; pid: number; stop(): Promise<void> }[] = [];
  const run = async (name: string, args: string[]) => {
    const child = await spawn(name, args, LISTENING);
    started.push({ name, ...child });
    return child;
  };
  const stop = async () => {
    for (const c of started.reverse()) await c.stop();
  };
  try {
    const reference = await run(
      `upstream-${kind}-reference`,
      tsx(PROTECTED, '--auth', 'none', '--port', '0'),
    );
    let upstream: Record<string, unknown>;
    let protectedUrl: string;
    if (kind === 'tokenExchange') return await startExchangeRow(run, stop, started, reference.url, dir);
    if (kind === 'sigv4') {
      const up = await run('upstream-sigv4', tsx(PROTECTED, '--auth', 'sigv4', '--port', '0'));
      protectedUrl = up.url;
      upstream = { name: 'tools', url: up.url, auth: { kind: 'sigv4', region: AUTH_BENCH_ENV.AWS_REGION } };
    } else {
      const issuer = await run('auth-server', tsx('upstreams/auth-server.ts', '--port', '0'));
      const up = await run(
        'upstream-oauth2',
        tsx(PROTECTED, '--auth', 'oauth', '--port', '0', '--issuer', issuer.url, '--scope', 'mcp:tools'),
      );
      protectedUrl = up.url;
      upstream = {
        name: 'tools',
        url: up.url,
        auth: {
          kind: 'oauth2',
          issuer: issuer.url,
          clientId: 'mcp-fed-lab',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a config file's ${ENV} reference
          clientSecret: '${MCP_FED_LAB_CLIENT_SECRET}',
          scope: 'mcp:tools',
        },
      };
    }
    // The two configs differ only in the upstream's url and auth.
    const write = (file: string, up: Record<string, unknown>) => writeProxyConfig(dir, file, up);
    const configPath = write(`proxy-auth-${kind}.json`, upstream);
    const { auth: _auth, ...unauthenticated } = upstream;
    const unauthConfigPath = write(`proxy-auth-${kind}-unauth.json`, {
      ...unauthenticated,
      url: reference.url,
    });
    return {
      kind,
      name: `auth ${kind}`,
      configPath,
      unauthConfigPath,
      direct: { url: reference.url, tool: 'echo' },
      protectedUrl,
      proxiedTool: 'tools__echo',
      pids: Object.fromEntries(started.map((c) => [c.name, c.pid])),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function writeProxyConfig(
  dir: string,
  file: string,
  up: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): string {
  const config = {
    listen: { host: '127.0.0.1', port: 0, path: '/mcp' },
    upstreams: [{ ...up, transport: 'streamable-http', catalogRefreshSeconds: 0 }],
    audit: { sink: 'off' },
    pii: { mode: 'off' },
    ...extra,
  };
  const path = join(dir, file);
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/**
 * The tokenExchange row: both proxies take the caller's JWT (inbound jwt, the bench issuer) and call
 * the same OAuth-protected upstream, one exchanging the caller's token (RFC 8693, bench/token-exchange
 * -server.ts) and one with its own client-credentials token: `auth_added` is what acting for the
 * caller costs over a service token once the exchanged token is cached.
 */
async function startExchangeRow(
  run: (name: string, args: string[]) => Promise<{ url: string; pid: number }>,
  stopProcesses: () => Promise<void>,
  started: { name: string; pid: number }[],
  referenceUrl: string,
  dir: string,
): Promise<AuthRow> {
  const issuer = await startIssuer('bench-user');
  const clientSecret = AUTH_BENCH_ENV.MCP_FED_LAB_CLIENT_SECRET ?? '';
  const exchange = await startExchangeServer({
    subjectIssuer: issuer.issuer,
    subjectJwksUri: issuer.jwksUri,
    clientId: 'mcp-fed-lab',
    clientSecret,
    scope: 'mcp:tools',
  });
  const up = await run(
    'upstream-tokenExchange',
    tsx(PROTECTED, '--auth', 'oauth', '--port', '0', '--issuer', exchange.url, '--scope', 'mcp:tools'),
  );
  const client = { tokenUrl: exchange.tokenUrl, clientId: 'mcp-fed-lab', clientSecret, resource: up.url };
  const inbound = {
    inbound: {
      auth: { kind: 'jwt', issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri },
    },
  };
  const configPath = writeProxyConfig(
    dir,
    'proxy-auth-tokenExchange.json',
    {
      name: 'tools',
      url: up.url,
      auth: { kind: 'tokenExchange', ...client, scope: 'mcp:tools' },
      catalogAuth: { kind: 'oauth2', ...client },
    },
    inbound,
  );
  const serviceConfigPath = writeProxyConfig(
    dir,
    'proxy-auth-tokenExchange-service.json',
    { name: 'tools', url: up.url, auth: { kind: 'oauth2', ...client, scope: 'mcp:tools' } },
    inbound,
  );
  return {
    kind: 'tokenExchange',
    name: 'auth tokenExchange',
    configPath,
    // The baseline is the proxy's own service token to the same protected upstream.
    unauthConfigPath: serviceConfigPath,
    direct: { url: referenceUrl, tool: 'echo' },
    protectedUrl: up.url,
    proxiedTool: 'tools__echo',
    headers: { authorization: `Bearer ${issuer.token}` },
    pids: Object.fromEntries(started.map((c) => [c.name, c.pid])),
    async stop() {
      await stopProcesses();
      await exchange.close();
      await issuer.close();
    },
  };
}
