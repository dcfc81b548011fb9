/**
 * SigV4 upstreams through the real proxy. The upstream (upstreams/protected-server.ts --auth sigv4)
 * recomputes every signature with the independent `aws4` package and answers 403 on any mismatch.
 * AWS credentials come from this process's environment or from a local container-credentials
 * endpoint; the chain is kept hermetic (no shared files, no instance metadata), so nothing leaves
 * 127.0.0.1.
 */
import { Client, type StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createUpstreamAuth } from '../../src/upstream/auth/index.ts';
import { createTransport } from '../../src/upstream/transport-factory.ts';
import { startContainerCredentials } from '../fixtures/container-credentials.ts';
import { startTamperRelay } from '../fixtures/tamper-relay.ts';
import {
  callTool,
  control,
  hermeticAwsEnv,
  type ProtectedStats,
  readiness,
  startLoggedProxy,
  textOf,
} from '../helpers/auth.ts';
import { eventually, modernClient, SAMPLES } from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const PROTECTED = 'upstreams/protected-server.ts';
const KEY = {
  accessKeyId: 'AKIAMCPFEDTEST000001',
  secretAccessKey: 'mcpFedTestSecret/0001+abcdefghijklmnop',
};
const TEMP = {
  accessKeyId: 'ASIAMCPFEDTEST000002',
  secretAccessKey: 'mcpFedTempSecret/0002+abcdefghijklmnop',
  sessionToken: 'IQoJb3JpZ2luX2VjEMcpFedTestSessionToken0002==',
};
const ARN = 'arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/mcp_fed_agent-AbC123xYz';
const RUNTIME_PATH = `/runtimes/${encodeURIComponent(ARN)}/invocations`;
const SECRETS = [KEY.secretAccessKey, TEMP.secretAccessKey, TEMP.sessionToken];

let restoreEnv: () => void;
let plain: StartedServer;
let gateway: StartedServer;
let runtime: StartedServer;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

const stats = (s: StartedServer) => control<ProtectedStats>(s.url, 'stats');
const sigv4Upstream = (url: string, region = 'us-east-1') => ({
  name: 'aws',
  url,
  transport: 'streamable-http',
  catalogRefreshSeconds: 0,
  auth: { kind: 'sigv4', region },
});
const plainUpstream = () => ({ name: 'plain', url: plain.url, catalogRefreshSeconds: 0 });

async function proxy(upstreams: Record<string, unknown>[]) {
  const started = await startLoggedProxy({ upstreams, audit: { sink: 'off' } });
  cleanups.push(() => started.app.close());
  return started;
}

function expectNoSecrets(...texts: string[]) {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

beforeAll(async () => {
  restoreEnv = hermeticAwsEnv({ ...envKeys(KEY), AWS_REGION: 'us-east-1' });
  [plain, gateway, runtime] = await Promise.all([
    startServer(SAMPLES.tools, ['--port', '0']),
    startServer(PROTECTED, ['--auth', 'sigv4', '--port', '0', '--control', '--region', 'us-east-1']),
    startServer(PROTECTED, ['--auth', 'sigv4', '--port', '0', '--control', '--path', RUNTIME_PATH]),
  ]);
}, 60_000);

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
  restoreEnv();
  restoreEnv = hermeticAwsEnv({ ...envKeys(KEY), AWS_REGION: 'us-east-1' });
  await control(gateway.url, 'credentials', [KEY]);
  await control(gateway.url, 'clock', { offsetMs: 0 });
});

afterAll(async () => {
  restoreEnv?.();
  await Promise.all([plain?.stop(), gateway?.stop(), runtime?.stop()]);
});

function envKeys(k: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return {
    AWS_ACCESS_KEY_ID: k.accessKeyId,
    AWS_SECRET_ACCESS_KEY: k.secretAccessKey,
    ...(k.sessionToken && { AWS_SESSION_TOKEN: k.sessionToken }),
  };
}

describe('SigV4 upstreams', () => {
  it('signs listing and calls (Gateway URL form) with env credentials, next to a plain upstream', async () => {
    await control(gateway.url, 'credentials', [KEY]);
    const before = await stats(gateway);
    const { url, logs } = await proxy([sigv4Upstream(gateway.url), plainUpstream()]);
    const client = await modernClient(url);
    cleanups.push(() => client.close());
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['aws__echo', 'plain__echo']));
    for (let i = 0; i < 5; i++) {
      const res = await client.callTool({ name: 'aws__echo', arguments: { text: `signed ${i}` } });
      expect(res.content).toEqual([{ type: 'text', text: `signed ${i}` }]);
    }
    expect((await client.callTool({ name: 'plain__echo', arguments: { text: 'x' } })).isError).toBeFalsy();
    // A 4 KiB argument: the payload hash covers the exact bytes sent.
    const big = 'é'.repeat(2048);
    expect((await callTool(url, 'aws__echo', { text: big })).result?.content).toEqual([
      { type: 'text', text: big },
    ]);
    const after = await stats(gateway);
    expect(after.rejected).toBe(before.rejected);
    expect((after.byKey[KEY.accessKeyId] ?? 0) - (before.byKey[KEY.accessKeyId] ?? 0)).toBeGreaterThanOrEqual(
      7,
    );
    expectNoSecrets(logs.join('\n'), JSON.stringify(await readiness(url)));
  });

  it('a body changed after signing is refused with 403 and reported as UPSTREAM_AUTH_FAILED', async () => {
    const relay = await startTamperRelay(gateway.url, (body) =>
      body.replace('"text":"tamper-me"', '"text":"tampered"'),
    );
    cleanups.push(() => relay.close());
    const { url, logs } = await proxy([sigv4Upstream(relay.url), plainUpstream()]);
    expect((await callTool(url, 'aws__echo', { text: 'untouched' })).result?.content).toEqual([
      { type: 'text', text: 'untouched' },
    ]);
    const { error } = await callTool(url, 'aws__echo', { text: 'tamper-me' }, 2);
    expect(relay.tampered).toBe(1);
    expect(error?.data?.code).toBe('UPSTREAM_AUTH_FAILED');
    expect(error?.message).toContain('HTTP 403');
    expect((await stats(gateway)).reasons['signature does not match']).toBeGreaterThanOrEqual(1);
    // Only that call failed: the upstream stays up and the next call is fine.
    expect((await callTool(url, 'aws__echo', { text: 'again' }, 3)).result?.content).toEqual([
      { type: 'text', text: 'again' },
    ]);
    expectNoSecrets(logs.join('\n'), JSON.stringify(error));
  });

  it('a wrong region is refused: that upstream is down with a clear reason, the other works', async () => {
    const { url, logs } = await proxy([sigv4Upstream(gateway.url, 'us-west-2'), plainUpstream()]);
    const ready = await readiness(url);
    const aws = ready.upstreams.find((u) => u.name === 'aws');
    expect(aws?.state).toBe('down');
    expect(aws?.error).toMatch(/rejected the proxy's credentials \(HTTP 403\)/);
    expect(
      (await stats(gateway)).reasons['credential scope names region "us-west-2", expected "us-east-1"'],
    ).toBeGreaterThan(0);
    expect((await callTool(url, 'plain__echo', { text: 'still here' })).result?.content).toEqual([
      { type: 'text', text: 'still here' },
    ]);
    expectNoSecrets(logs.join('\n'), JSON.stringify(ready));
  });

  it('a stale date is refused (server clock 10 minutes ahead), and calls recover when it is not', async () => {
    const { url } = await proxy([sigv4Upstream(gateway.url)]);
    expect((await callTool(url, 'aws__echo', { text: 'on time' })).result).toBeDefined();
    await control(gateway.url, 'clock', { offsetMs: 10 * 60_000 });
    const { error } = await callTool(url, 'aws__echo', { text: 'late' }, 2);
    expect(error?.data?.code).toBe('UPSTREAM_AUTH_FAILED');
    expect((await stats(gateway)).reasons['signature expired (x-amz-date too far from now)']).toBeGreaterThan(
      0,
    );
    await control(gateway.url, 'clock', { offsetMs: 0 });
    expect((await callTool(url, 'aws__echo', { text: 'on time again' }, 3)).result).toBeDefined();
  });

  it('temporary credentials send and sign their session token', async () => {
    restoreEnv();
    restoreEnv = hermeticAwsEnv({ ...envKeys(TEMP), AWS_REGION: 'us-east-1' });
    await control(gateway.url, 'credentials', [TEMP]);
    const { url, logs } = await proxy([sigv4Upstream(gateway.url)]);
    const { result } = await callTool(url, 'aws__whoami');
    const seen = JSON.parse(textOf(result)) as {
      headers: Record<string, string>;
    };
    expect(seen.headers['x-amz-security-token']).toBe(TEMP.sessionToken);
    expect((await stats(gateway)).byKey[TEMP.accessKeyId]).toBeGreaterThanOrEqual(2);
    // The server checks the token: once it expects another one, the same credentials are refused.
    await control(gateway.url, 'credentials', [{ ...TEMP, sessionToken: 'another-token' }]);
    expect((await callTool(url, 'aws__echo', { text: 'x' }, 2)).error?.data?.code).toBe(
      'UPSTREAM_AUTH_FAILED',
    );
    expectNoSecrets(logs.join('\n'));

    // A signature mismatch is answered, as AWS does, with the canonical request quoted back, session
    // token included. That text must not reach the proxy's logs or /readyz through SDK error messages:
    // neither at connect nor from a periodic re-list that starts failing.
    await control(gateway.url, 'credentials', [TEMP]);
    const relisting = await proxy([{ ...sigv4Upstream(gateway.url), catalogRefreshSeconds: 1 }]);
    await control(gateway.url, 'credentials', [{ ...TEMP, secretAccessKey: 'not-the-secret-the-proxy-has' }]);
    await eventually(() => expect(relisting.logs.join('\n')).toContain('re-list failed'), 5_000, 100);
    const refused = await proxy([sigv4Upstream(gateway.url)]);
    const ready = await readiness(refused.url);
    expect(ready.upstreams[0]?.error).toMatch(/rejected the proxy's credentials \(HTTP 403\)/);
    expect((await stats(gateway)).reasons['signature does not match']).toBeGreaterThan(1);
    expectNoSecrets(relisting.logs.join('\n'), refused.logs.join('\n'), JSON.stringify(ready));
  });

  it('uses credentials from a container endpoint and picks up rotated ones before the old expire', async () => {
    const creds = await startContainerCredentials('container-auth-token');
    cleanups.push(() => creds.close());
    restoreEnv();
    restoreEnv = hermeticAwsEnv({
      AWS_REGION: 'us-east-1',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: creds.url,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-auth-token',
    });
    const t0 = Date.now();
    const gen = (n: number, lifetimeMs: number) => ({
      accessKeyId: `ASIAROTATION00000${n}`,
      secretAccessKey: `rotation-secret-${n}-abcdefghijklmnopqrstuvwxyz`,
      sessionToken: `rotation-session-token-${n}`,
      expiration: new Date(t0 + lifetimeMs),
    });
    const first = gen(1, 6_000);
    const second = gen(2, 3_600_000);
    SECRETS.push(first.secretAccessKey, second.secretAccessKey, first.sessionToken, second.sessionToken);
    creds.serve(first);
    await control(gateway.url, 'credentials', [first]);
    const { url, logs } = await proxy([sigv4Upstream(gateway.url)]);
    expect((await callTool(url, 'aws__echo', { text: 'gen 1' })).result).toBeDefined();

    // The role's credentials rotate: the endpoint hands out the next set, both are valid for a while,
    // then the first expires and the server stops accepting it.
    creds.serve(second);
    await control(gateway.url, 'credentials', [first, second]);
    let id = 2;
    const failures: unknown[] = [];
    while (Date.now() < t0 + 8_000) {
      if (Date.now() >= first.expiration.getTime()) await control(gateway.url, 'credentials', [second]);
      const { error } = await callTool(url, 'aws__echo', { text: `call ${id}` }, id++);
      if (error) failures.push(error);
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(failures).toEqual([]);
    expect(creds.served).toEqual(expect.arrayContaining([first.accessKeyId, second.accessKeyId]));
    const seen = await stats(gateway);
    expect(seen.byKey[first.accessKeyId]).toBeGreaterThan(0);
    expect(seen.byKey[second.accessKeyId]).toBeGreaterThan(0);
    expectNoSecrets(logs.join('\n'));
  }, 30_000);

  it('reaches an AgentCore Runtime invocation URL (percent-encoded ARN path, qualifier query)', async () => {
    await control(runtime.url, 'credentials', [KEY]);
    const before = await stats(runtime);
    const { url } = await proxy([sigv4Upstream(`${runtime.url}?qualifier=DEFAULT`)]);
    expect(runtime.url).toContain(
      '/runtimes/arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2F',
    );
    expect((await callTool(url, 'aws__add', { a: 2, b: 3 })).result?.structuredContent).toEqual({ sum: 5 });
    const after = await stats(runtime);
    expect(after.rejected).toBe(before.rejected);
    expect(after.accepted).toBeGreaterThan(before.accepted);
  });

  it('signs the GET that opens a legacy session stream and the DELETE that ends it', async () => {
    await control(gateway.url, 'credentials', [KEY]);
    const parsed = parseConfig({ upstreams: [sigv4Upstream(gateway.url)] });
    if (!parsed.ok) throw new Error('config');
    const cfg = parsed.config.upstreams[0]!;
    const before = await stats(gateway);
    const transport = createTransport(
      cfg,
      undefined,
      createUpstreamAuth(cfg),
    ) as StreamableHTTPClientTransport;
    const client = new Client(
      { name: 'legacy-probe', version: '1' },
      { versionNegotiation: { mode: 'legacy' } },
    );
    await client.connect(transport);
    expect(client.getProtocolEra()).toBe('legacy');
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    await eventually(async () =>
      expect((await stats(gateway)).byMethod.GET ?? 0).toBeGreaterThan(before.byMethod.GET ?? 0),
    );
    await transport.terminateSession();
    await client.close();
    const after = await stats(gateway);
    expect((after.byMethod.DELETE ?? 0) - (before.byMethod.DELETE ?? 0)).toBe(1);
    expect(after.rejected).toBe(before.rejected);
  });
});
