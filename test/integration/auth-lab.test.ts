/**
 * The lab's auth samples (upstreams/lab-auth.yaml) run as the lab runs them: the authorization server
 * and both protected upstreams as their own processes, the proxy on that config.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  callTool,
  control,
  hermeticAwsEnv,
  type ProtectedStats,
  startLoggedProxy,
  textOf,
} from '../helpers/auth.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';

const LAB_SECRET = 'lab-client-secret-0123456789abcdef';
const AWS_SECRET = 'labAwsSecret/0123456789+abcdefghijklmnopqr';
let restoreEnv: () => void;
const servers: StartedServer[] = [];

beforeAll(async () => {
  restoreEnv = hermeticAwsEnv({
    AWS_ACCESS_KEY_ID: 'AKIAMCPFEDLAB0000001',
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
  });
  process.env.MCP_FED_LAB_CLIENT_SECRET = LAB_SECRET;
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  delete process.env.MCP_FED_LAB_CLIENT_SECRET;
  restoreEnv?.();
});

it('serves the SigV4 and the OAuth sample of the lab config through the proxy', async () => {
  const auth = await startServer('upstreams/auth-server.ts', ['--port', '0']);
  servers.push(auth);
  const [sigv4, oauth] = await Promise.all([
    startServer('upstreams/protected-server.ts', ['--auth', 'sigv4', '--port', '0', '--control']),
    startServer('upstreams/protected-server.ts', [
      ...['--auth', 'oauth', '--port', '0', '--control', '--issuer', auth.url, '--scope', 'mcp:tools'],
    ]),
  ]);
  servers.push(sigv4, oauth);
  const config = parse(await readFile('upstreams/lab-auth.yaml', 'utf8')) as {
    upstreams: { name: string; url: string; auth: Record<string, unknown> }[];
  };
  const [aws, secure] = config.upstreams;
  aws!.url = sigv4.url;
  secure!.url = oauth.url;
  secure!.auth.issuer = auth.url;
  secure!.auth.resource = oauth.url;
  const { app, url, logs } = await startLoggedProxy({ ...config, audit: { sink: 'off' } });
  try {
    expect(textOf((await callTool(url, 'aws-tools__echo', { text: 'signed' })).result)).toBe('signed');
    expect(textOf((await callTool(url, 'oauth-tools__echo', { text: 'token' }, 2)).result)).toBe('token');
    for (const s of [sigv4, oauth]) {
      const stats = await control<ProtectedStats>(s.url, 'stats');
      expect(stats.rejected).toBe(0);
      expect(stats.accepted).toBeGreaterThan(0);
    }
    const text = logs.join('\n');
    for (const secret of [LAB_SECRET, AWS_SECRET]) expect(text).not.toContain(secret);
  } finally {
    await app.close();
  }
});
