import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblems, runCheck } from '../../src/config/check.ts';
import {
  ConfigError,
  type ConfigProblem,
  loadConfigFile,
  parseConfig,
  parseConfigText,
} from '../../src/config/load.ts';
import { renderConfigReference } from '../../src/config/reference.ts';
import type { Config } from '../../src/config/schema.ts';

// Built with a template literal so the linter does not take them for misplaced placeholders.
const ref = (name: string) => `\${${name}}`;
const http = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  url: 'http://127.0.0.1:3001/mcp',
  ...extra,
});

function valid(raw: unknown, env: Record<string, string> = {}): Config {
  const result = parseConfig(raw, env);
  if (!result.ok) throw new Error(formatProblems(result.problems));
  return result.config;
}

function problems(raw: unknown, env: Record<string, string> = {}): ConfigProblem[] {
  const result = parseConfig(raw, env);
  if (result.ok) throw new Error('expected problems, config was valid');
  return result.problems;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

describe('defaults', () => {
  it('fills every section for `upstreams: []`', () => {
    const config = valid({ upstreams: [] });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8000, path: '/mcp' });
    expect(config.store).toEqual({ kind: 'memory' });
    expect(config.namespace).toEqual({ separator: '__', maxLength: 64 });
    expect(config.inbound.auth).toEqual({ kind: 'none' });
    expect(config.policies).toEqual({ acl: [], rateLimits: [] });
    expect(config.pii.mode).toBe('off');
    expect(config.pii.entities).toHaveLength(7);
    expect(config.audit).toEqual({ sink: 'stdout' });
    expect(config.telemetry).toEqual({ serviceName: 'mcp-fed' });
    expect(config.chain).toEqual({ maxHops: 8, assertCaller: false });
    expect(config.sessions).toEqual({
      ttlSeconds: 3600,
      unknownId: 'reject',
      maxPerCaller: 100,
      max: 100_000,
    });
    expect(config.limits).toEqual({ maxBodyBytes: 4194304, allowedOrigins: [] });
    expect(config.metrics).toEqual({ perCaller: false });
  });

  it('fills an upstream and infers its transport', () => {
    const [a, b] = valid({ upstreams: [http('a'), { name: 'b', command: ['node', 'server.js'] }] }).upstreams;
    expect(a).toMatchObject({
      name: 'a',
      prefix: 'a',
      transport: 'streamable-http',
      auth: { kind: 'none' },
      timeoutMs: 60000,
      required: false,
      catalogRefreshSeconds: 300,
      expose: { tools: ['*'], prompts: ['*'], resources: ['*'], exclude: [] },
      headers: {},
    });
    expect(b).toMatchObject({
      transport: 'stdio',
      command: ['node', 'server.js'],
      isolation: 'shared',
      env: {},
    });
  });

  it('keeps an empty prefix and fills sigv4 and oauth2 defaults', () => {
    const config = valid({
      upstreams: [
        http('a', { prefix: '', auth: { kind: 'sigv4', region: 'us-east-1' } }),
        http('b', {
          auth: { kind: 'oauth2', issuer: 'https://id.example', clientId: 'c', clientSecret: 's' },
        }),
      ],
    });
    expect(config.upstreams[0]).toMatchObject({
      prefix: '',
      auth: { kind: 'sigv4', service: 'bedrock-agentcore' },
    });
    expect(config.upstreams[1]?.auth).toMatchObject({ authMethod: 'client_secret_basic' });
  });

  it('takes the sigv4 region from AWS_REGION', () => {
    const config = valid(
      { upstreams: [http('a', { auth: { kind: 'sigv4' } })] },
      { AWS_REGION: 'eu-west-1' },
    );
    expect(config.upstreams[0]?.auth).toEqual({
      kind: 'sigv4',
      service: 'bedrock-agentcore',
      region: 'eu-west-1',
    });
  });
});

describe('problems', () => {
  const JWT = {
    kind: 'jwt',
    issuer: 'https://idp.example.com',
    audience: 'https://proxy/mcp',
    jwksUri: 'https://idp.example.com/jwks',
  };
  const TOKEN_EXCHANGE = {
    kind: 'tokenExchange',
    tokenUrl: 'https://idp.example.com/token',
    clientId: 'proxy',
    clientSecret: 's',
    resource: 'https://tickets.example.com/mcp',
  };
  const USER_OAUTH = {
    kind: 'userOAuth',
    issuer: 'https://idp.example.com',
    clientId: 'proxy',
    clientSecret: 's',
    redirectUrl: 'https://proxy.example.com/oauth/callback',
  };
  const cases: [string, unknown, ConfigProblem][] = [
    ['missing url', { upstreams: [{ name: 'a' }] }, { path: 'upstreams[0].url', message: 'required' }],
    [
      'bad transport',
      { upstreams: [http('a', { transport: 'websocket' })] },
      { path: 'upstreams[0].transport', message: 'must be one of: streamable-http, sse, stdio' },
    ],
    [
      'stdio without command',
      { upstreams: [{ name: 'a', transport: 'stdio' }] },
      { path: 'upstreams[0].command', message: 'required' },
    ],
    [
      'duplicate names',
      { upstreams: [http('a'), http('b'), http('a')] },
      { path: 'upstreams[2].name', message: 'duplicate upstream name "a"' },
    ],
    [
      'bad name characters',
      { upstreams: [http('my_server')] },
      { path: 'upstreams[0].name', message: 'must match [A-Za-z0-9-]+' },
    ],
    [
      'separator inside a name',
      { namespace: { separator: '--' }, upstreams: [http('a--b')] },
      { path: 'upstreams[0].name', message: 'must not contain the separator "--"' },
    ],
    [
      'two upstreams with one prefix',
      { upstreams: [http('a'), http('b', { prefix: 'a' })] },
      {
        path: 'upstreams[1].prefix',
        message: 'prefix "a" is also used by upstream "a": their names would collide',
      },
    ],
    [
      'a typo',
      { upstreams: [http('a', { tymeoutMs: 5 })] },
      { path: 'upstreams[0]', message: 'unknown key "tymeoutMs" (did you mean "timeoutMs"?)' },
    ],
    [
      'a top-level typo',
      { upstream: [] },
      { path: '(root)', message: 'unknown key "upstream" (did you mean "upstreams"?)' },
    ],
    [
      'sigv4 without region',
      { upstreams: [http('a', { auth: { kind: 'sigv4' } })] },
      { path: 'upstreams[0].auth.region', message: 'required' },
    ],
    [
      'oauth2 without tokenUrl or issuer',
      { upstreams: [http('a', { auth: { kind: 'oauth2', clientId: 'c', clientSecret: 's' } })] },
      { path: 'upstreams[0].auth', message: 'tokenUrl or issuer required' },
    ],
    [
      'an unknown auth kind',
      { upstreams: [http('a', { auth: { kind: 'basic' } })] },
      {
        path: 'upstreams[0].auth.kind',
        message: 'must be one of: none, headers, sigv4, oauth2, tokenExchange, userOAuth',
      },
    ],
    [
      'tokenExchange without catalogAuth',
      { inbound: { auth: JWT }, upstreams: [http('a', { auth: TOKEN_EXCHANGE })] },
      {
        path: 'upstreams[0].catalogAuth',
        message: 'required with auth kind tokenExchange: the proxy lists the catalog as itself',
      },
    ],
    [
      'userOAuth without inbound jwt',
      { upstreams: [http('a', { auth: USER_OAUTH, catalogAuth: { kind: 'none' } })] },
      {
        path: 'upstreams[0].auth.kind',
        message: 'userOAuth needs inbound.auth kind jwt (the caller is its sub)',
      },
    ],
    [
      'tokenExchange on an SSE upstream',
      {
        inbound: { auth: JWT },
        upstreams: [http('a', { transport: 'sse', auth: TOKEN_EXCHANGE, catalogAuth: { kind: 'none' } })],
      },
      {
        path: 'upstreams[0].auth.kind',
        message: 'tokenExchange needs transport streamable-http (each call carries its own token)',
      },
    ],
    [
      'tokenExchange without an audience or resource',
      {
        inbound: { auth: JWT },
        upstreams: [
          http('a', { auth: { ...TOKEN_EXCHANGE, resource: undefined }, catalogAuth: { kind: 'none' } }),
        ],
      },
      {
        path: 'upstreams[0].auth',
        message: 'audience or resource required: the token must be issued for this upstream',
      },
    ],
    [
      'userOAuth with a redirectUrl elsewhere',
      {
        inbound: { auth: JWT },
        upstreams: [
          http('a', {
            auth: { ...USER_OAUTH, redirectUrl: 'https://proxy.example.com/callback' },
            catalogAuth: { kind: 'none' },
          }),
        ],
      },
      {
        path: 'upstreams[0].auth.redirectUrl',
        message: 'must end in /oauth/callback (the proxy serves it there)',
      },
    ],
    [
      'catalogAuth beside a service kind',
      { upstreams: [http('a', { catalogAuth: { kind: 'none' } })] },
      { path: 'upstreams[0].catalogAuth', message: 'only with auth kind tokenExchange or userOAuth' },
    ],
    [
      'isolation on an http upstream',
      { upstreams: [http('a', { isolation: 'per-session' })] },
      { path: 'upstreams[0].isolation', message: 'only for transport stdio' },
    ],
    [
      'a non-http url',
      { upstreams: [http('a', { url: 'ftp://host/mcp' })] },
      { path: 'upstreams[0].url', message: 'must be an http(s) URL' },
    ],
    ['audit file without path', { audit: { sink: 'file' } }, { path: 'audit.path', message: 'required' }],
    [
      'redis with no address',
      { store: { kind: 'redis' } },
      { path: 'store', message: 'needs exactly one of url, cluster, sentinels' },
    ],
    [
      'a mistyped number',
      { listen: { port: 'eighty' } },
      { path: 'listen.port', message: 'must be an integer' },
    ],
  ];
  it.each(cases)('reports %s at its path', (_, raw, expected) => {
    expect(problems(raw)).toContainEqual(expected);
  });

  it('reports every problem of a file at once, in file order', () => {
    const found = problems({
      upstreams: [{ name: 'a' }, http('b c', { tymeoutMs: 1 }), { name: 'a', transport: 'stdio' }],
      pii: { mode: 'tokenise' },
    });
    expect(found.map((p) => p.path)).toEqual([
      'upstreams[0].url',
      'upstreams[1]',
      'upstreams[1].name',
      'upstreams[2].name',
      'upstreams[2].command',
      'pii.mode',
    ]);
  });

  it('accepts the redis cluster and sentinel forms', () => {
    expect(
      valid({ store: { kind: 'redis', cluster: ['redis://a:7000', 'redis://b:7000'] } }).store,
    ).toMatchObject({
      keyPrefix: 'mcp-fed:',
    });
    expect(problems({ store: { kind: 'redis', sentinels: ['redis://s:26379'] } })).toContainEqual({
      path: 'store.name',
      message: 'required with sentinels',
    });
  });
});

describe('environment', () => {
  it('interpolates references, keeps an escaped one literal, and coerces numbers', () => {
    const config = valid(
      {
        listen: { port: ref('PORT') },
        upstreams: [
          http('a', {
            auth: { kind: 'headers', headers: { 'x-api-key': `k-${ref('KEY')}`, lit: `$${ref('KEY')}` } },
          }),
        ],
      },
      { PORT: '9001', KEY: 'abc' },
    );
    expect(config.listen.port).toBe(9001);
    expect(config.upstreams[0]?.auth).toEqual({
      kind: 'headers',
      headers: { 'x-api-key': 'k-abc', lit: ref('KEY') },
    });
  });

  it('reports a missing variable at its exact path', () => {
    const raw = {
      upstreams: [
        http('a', {
          auth: {
            kind: 'oauth2',
            tokenUrl: 'https://id.example/token',
            clientId: 'c',
            clientSecret: ref('KEY'),
          },
        }),
      ],
    };
    expect(problems(raw)).toEqual([
      { path: 'upstreams[0].auth.clientSecret', message: 'environment variable KEY is not set' },
    ]);
  });

  it('never prints a value that came from the environment', () => {
    const secret = 'hunter2-super-secret';
    const result = parseConfig(
      { upstreams: [http(ref('NAME')), http(ref('NAME'), { prefix: 'b', url: `ftp://x/${ref('TOKEN')}` })] },
      { NAME: secret, TOKEN: secret },
    );
    expect(result.ok).toBe(false);
    const text = result.ok ? '' : formatProblems(result.problems);
    expect(text).toContain('upstreams[1].name: duplicate upstream name');
    expect(text).not.toContain(secret);
  });
});

describe('files', () => {
  const yaml = [
    'listen: { port: 8100 }',
    'upstreams:',
    '  - name: everything',
    '    url: http://127.0.0.1:3001/mcp',
    '  - name: local',
    '    command: [node, server.js]',
    '',
  ].join('\n');

  it('loads YAML and JSON alike', async () => {
    const fromYaml = await loadConfigFile(await file('a.yaml', yaml), {});
    const json = JSON.stringify({
      listen: { port: 8100 },
      upstreams: [http('everything'), { name: 'local', command: ['node', 'server.js'] }],
    });
    const fromJson = await loadConfigFile(await file('a.json', json), {});
    // The same file under a name that says nothing about its format.
    const sniffed = await loadConfigFile(await file('a.conf', json), {});
    expect(fromYaml.listen.port).toBe(8100);
    expect(fromYaml.upstreams.map((u) => u.transport)).toEqual(['streamable-http', 'stdio']);
    expect(fromJson).toEqual(fromYaml);
    expect(sniffed).toEqual(fromYaml);
  });

  it('throws ConfigError with the problems', async () => {
    const path = await file('bad.yaml', 'upstreams:\n  - name: a\n');
    const error = await loadConfigFile(path, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([{ path: 'upstreams[0].url', message: 'required' }]);
  });

  it('locates a YAML syntax error by line and column', () => {
    const result = parseConfigText('upstreams:\n  - name: a\n    url: [http://x\nlisten: {}\n', {
      source: 'c.yaml',
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.path).toMatch(/^c\.yaml:\d+:\d+$/);
    const dup = parseConfigText('listen: {}\nlisten: {}\n', { source: 'c.yaml' });
    expect(dup.ok ? [] : dup.problems).toEqual([
      { path: 'c.yaml:2:1', message: 'YAML syntax error: Map keys must be unique' },
    ]);
  });

  it('runCheck returns 0 for a good file and 1 with the problems', async () => {
    const lines: string[] = [];
    const sink = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), env: {} };
    expect(await runCheck(await file('good.yaml', yaml), sink)).toBe(0);
    expect(lines).toEqual(['ok: 2 upstreams (everything, local)']);
    lines.length = 0;
    const bad = 'upstreams:\n  - name: a\n    auth: { kind: sigv4 }\n    tymeoutMs: 5\n';
    expect(await runCheck(await file('bad-check.yaml', bad), sink)).toBe(1);
    expect(lines.join('\n').split('\n')).toEqual([
      'upstreams[0]: unknown key "tymeoutMs" (did you mean "timeoutMs"?)',
      'upstreams[0].auth.region: required',
      'upstreams[0].url: required',
    ]);
    lines.length = 0;
    expect(await runCheck(join(dir, 'missing.yaml'), sink)).toBe(1);
    expect(lines[0]).toMatch(/missing\.yaml: cannot read: file not found$/);
  });

  it('keeps secret literals out of check output', async () => {
    const secret = 'sk-live-0123456789';
    const upstream = `  - name: ${secret}\n    url: http://x\n    headers: { x-key: ${secret} }\n`;
    const text = `upstreams:\n${upstream}${upstream}`;
    const lines: string[] = [];
    const code = await runCheck(await file('secret.yaml', text), {
      out: (l) => lines.push(l),
      err: (l) => lines.push(l),
    });
    expect(code).toBe(1);
    expect(lines.join('\n')).toContain('upstreams[1].name');
    expect(lines.join('\n')).not.toContain(secret);
  });
});

describe('reference', () => {
  it('documents every field with its default', () => {
    const table = renderConfigReference();
    expect(table).toContain('| `listen.port` | integer | `8000` |');
    expect(table).toContain(
      '| `upstreams[].auth.kind` | none \\| headers \\| sigv4 \\| oauth2 \\| tokenExchange \\| userOAuth | `none` |',
    );
    expect(table).toContain('`upstreams[].catalogAuth.kind`');
    expect(table).toContain('`upstreams[].auth.region`');
    expect(table).toContain('| `pii.mode` | off \\| tokenize \\| redact \\| block | `off` |');
  });
});
