// `mcp-fed stdio --config FILE` launched the way desktop agents launch MCP servers: as a command whose
// stdin/stdout carry the protocol. Both SDK generations, plus a raw run that checks every stdout byte.
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEGACY, SAMPLES } from '../helpers/federation.ts';
import { REPO_ROOT, type StartedServer, startServer } from '../helpers/spawn-server.ts';
import { logLines, sampleConfigYaml, spawnCli, tempDir, textOf, withTimeout } from './cli-helpers.ts';

let tools: StartedServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let configPath: string;

beforeAll(async () => {
  [tools, dir] = await Promise.all([startServer(SAMPLES.tools, ['--port', '0']), tempDir()]);
  configPath = await dir.write('stdio.yaml', sampleConfigYaml(tools.url));
});
afterAll(async () => {
  await tools?.stop();
  await dir?.remove();
});

/** Collects a transport's piped stderr (the CLI's logs). */
function collect(stream: NodeJS.ReadableStream | null): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer | string) => {
    text += chunk.toString();
  });
  return () => text;
}

describe('mcp-fed stdio --config FILE', () => {
  it('serves an SDK v2 client (version negotiation auto): list and call; logs on stderr', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['bin/mcp-fed.js', 'stdio', '--config', configPath],
      cwd: REPO_ROOT,
      stderr: 'pipe',
    });
    const stderr = collect(transport.stderr as NodeJS.ReadableStream | null);
    const errors: Error[] = [];
    const client = new Client(
      { name: 'e2e-stdio-v2', version: '1.0.0' },
      { versionNegotiation: { mode: 'auto' } },
    );
    client.onerror = (err) => errors.push(err);
    try {
      await client.connect(transport);
      expect(client.getProtocolEra()).toBe('modern');
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['tools__echo', 'content__bump']));
      const echo = await client.callTool({ name: 'tools__echo', arguments: { text: 'over stdio v2' } });
      expect(echo.isError).toBeFalsy();
      expect(textOf(echo)).toBe('over stdio v2');
      const bump = await client.callTool({ name: 'content__bump', arguments: {} });
      expect(textOf(bump)).toMatch(/^counter=\d+$/);
    } finally {
      await client.close();
    }
    // Anything but JSON-RPC on stdout would have surfaced as a parse error here.
    expect(errors).toEqual([]);
    expect(logLines(stderr()).some((l) => l.msg === 'upstream ready')).toBe(true);
  });

  it('serves an SDK v1 client over its stdio transport: list and call; logs on stderr', async () => {
    const transport = new V1StdioTransport({
      command: process.execPath,
      args: ['bin/mcp-fed.js', 'stdio', '--config', configPath],
      cwd: REPO_ROOT,
      stderr: 'pipe',
    });
    const stderr = collect(transport.stderr as NodeJS.ReadableStream | null);
    const errors: Error[] = [];
    const client = new V1Client({ name: 'e2e-stdio-v1', version: '1.0.0' }, { capabilities: {} });
    client.onerror = (err) => errors.push(err);
    try {
      await client.connect(transport);
      expect(client.getServerVersion()).toMatchObject({ name: 'mcp-fed' });
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['tools__echo', 'content__bump']));
      const echo = await client.callTool({ name: 'tools__echo', arguments: { text: 'over stdio v1' } });
      expect(echo.isError).toBeFalsy();
      expect(textOf(echo)).toBe('over stdio v1');
      const bump = await client.callTool({ name: 'content__bump', arguments: {} });
      expect(textOf(bump)).toMatch(/^counter=\d+$/);
    } finally {
      await client.close();
    }
    expect(errors).toEqual([]);
    expect(logLines(stderr()).some((l) => l.msg === 'upstream ready')).toBe(true);
  });

  it('writes nothing but JSON-RPC messages on stdout, and exits 0 when stdin closes', async () => {
    const cli = spawnCli(['stdio', '--config', configPath]);
    const send = (msg: object) => cli.proc.stdin!.write(`${JSON.stringify(msg)}\n`);
    const replies = () =>
      cli
        .stdout()
        .split('\n')
        .filter((l) => l !== '');
    const waitFor = (id: number) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const check = () => {
            if (replies().some((l) => l.includes(`"id":${id}`))) {
              cli.proc.stdout!.off('data', check);
              resolve();
            }
          };
          cli.proc.stdout!.on('data', check);
          check();
        }),
        20_000,
        `no reply ${id} on stdout:\n${cli.stdout()}\n--- stderr ---\n${cli.stderr()}`,
      );
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: LEGACY, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    await waitFor(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'tools__echo', arguments: { text: 'raw' } },
    });
    await Promise.all([waitFor(2), waitFor(3)]);
    cli.proc.stdin!.end();
    const { code } = await withTimeout(cli.exited, 5_000, 'mcp-fed stdio did not exit after stdin closed');
    expect(code).toBe(0);

    const messages = replies().map((line) => {
      expect(() => JSON.parse(line), `not JSON on stdout: ${line}`).not.toThrow();
      return JSON.parse(line) as { jsonrpc: string; id?: number; result?: Record<string, unknown> };
    });
    for (const m of messages) expect(m.jsonrpc).toBe('2.0');
    const byId = new Map(messages.filter((m) => m.id !== undefined).map((m) => [m.id, m.result]));
    expect(byId.get(1)).toMatchObject({ protocolVersion: LEGACY, serverInfo: { name: 'mcp-fed' } });
    expect(byId.get(3)).toMatchObject({ content: [{ type: 'text', text: 'raw' }] });
    // The logs went to stderr, as JSON lines.
    expect(logLines(cli.stderr()).some((l) => l.msg === 'upstream ready')).toBe(true);
  });
});
