// `mcp-fed check --config FILE` and the CLI's usage errors, run as real processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sampleConfigYaml, tempDir } from './cli-helpers.ts';

const SECRET_TOKEN = 'e2e-tok-8f3a91c2d7b4';
const SECRET_PASSWORD = 'e2e-pw-51d0c6e9aa';
const SECRETS = { E2E_SECRET_TOKEN: SECRET_TOKEN, E2E_SECRET_PASSWORD: SECRET_PASSWORD };

// Six problems, each at a known path; the two secrets sit in the values of broken fields.
const BAD = `listen:
  port: 99999
upstreams:
  - name: tools
    url: http://127.0.0.1:9/mcp
    headers:
      authorization: "Bearer \${E2E_SECRET_TOKEN}"
    timeoutMs: "\${E2E_SECRET_TOKEN}"
  - name: second
    url: "ftp://user:\${E2E_SECRET_PASSWORD}@example.com/mcp"
  - name: third
    transport: stdio
    tiemoutMs: 5
  - name: fourth
    url: "http://127.0.0.1:9/\${E2E_UNSET_VARIABLE_FOR_CHECK}"
`;

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(async () => {
  await dir?.remove();
});

describe('mcp-fed check --config FILE', () => {
  it('exits 0 and prints ok: for a good YAML file', async () => {
    const path = await dir.write('good.yaml', sampleConfigYaml('http://127.0.0.1:9/mcp'));
    const { code, stdout, stderr } = await runCli(['check', '--config', path]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe('ok: 2 upstreams (tools, content)\n');
  });

  it('accepts JSON too, and never prints a secret of a good file', async () => {
    const path = await dir.write(
      'good.json',
      JSON.stringify({
        upstreams: [
          {
            name: 'tools',
            url: 'http://127.0.0.1:9/mcp',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: config-file syntax
            auth: { kind: 'headers', headers: { authorization: 'Bearer ${E2E_SECRET_TOKEN}' } },
          },
        ],
      }),
    );
    const { code, stdout, stderr } = await runCli(['check', '--config', path], SECRETS);
    expect(code).toBe(0);
    expect(stdout).toBe('ok: 1 upstream (tools)\n');
    expect(stdout + stderr).not.toContain(SECRET_TOKEN);
  });

  it('exits 1 with one line per problem, each with its path, and no secret', async () => {
    const path = await dir.write('bad.yaml', BAD);
    const { code, stdout, stderr } = await runCli(['check', '--config', path], SECRETS);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, l.indexOf(': ')))).toEqual([
      'listen.port',
      'upstreams[0].timeoutMs',
      'upstreams[1].url',
      'upstreams[2]',
      'upstreams[2].command',
      'upstreams[3].url',
    ]);
    expect(lines).toContain('upstreams[1].url: must be an http(s) URL');
    expect(lines).toContain('upstreams[2].command: required');
    expect(lines).toContain('upstreams[2]: unknown key "tiemoutMs" (did you mean "timeoutMs"?)');
    expect(lines).toContain('upstreams[3].url: environment variable E2E_UNSET_VARIABLE_FOR_CHECK is not set');
    for (const secret of [SECRET_TOKEN, SECRET_PASSWORD]) expect(stdout + stderr).not.toContain(secret);
  });

  it('exits 1 naming the file when it cannot be read', async () => {
    const path = `${dir.dir}/missing.yaml`;
    const { code, stderr } = await runCli(['check', '--config', path]);
    expect(code).toBe(1);
    expect(stderr).toBe(`${path}: cannot read: file not found\n`);
  });

  it('exits 2 with the usage when --config is missing', async () => {
    const { code, stdout, stderr } = await runCli(['check']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^check needs --config FILE\nusage:\n/);
    expect(stderr).toContain('mcp-fed check --config FILE');
  });
});

describe('usage errors and a bad config for serve', () => {
  it('exits 2 for stdio without --config, an unknown command, an unknown flag and a bad --port', async () => {
    const stdio = await runCli(['stdio']);
    expect(stdio.code).toBe(2);
    expect(stdio.stderr).toMatch(/^stdio needs --config FILE\nusage:/);
    const unknown = await runCli(['sevre']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^unknown command "sevre"\nusage:/);
    const flag = await runCli(['serve', '--prot', '8000']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^Unknown option '--prot'.*\nusage:/s);
    const path = await dir.write('port.yaml', sampleConfigYaml('http://127.0.0.1:9/mcp'));
    const port = await runCli(['serve', '--config', path, '--port', 'eighty']);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port must be an integer from 0 to 65535, got "eighty"/);
  });

  it('serve --config with a bad file exits 1 and lists the problems without secrets', async () => {
    const path = await dir.write('bad-serve.yaml', BAD);
    const { code, stdout, stderr } = await runCli(['serve', '--config', path], SECRETS);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`invalid ${path}:\n  listen.port: `);
    expect(stderr).toContain('  upstreams[1].url: must be an http(s) URL');
    for (const secret of [SECRET_TOKEN, SECRET_PASSWORD]) expect(stderr).not.toContain(secret);
  });
});
