// `mcp-fed serve` with no config (the embedded sample federation that `npm start` serves), run as a
// real child process: output, both SDK generations, and what SIGTERM leaves behind.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, legacyClient, modernClient } from '../helpers/federation.ts';
import {
  canBind,
  childPids,
  freePort,
  isListening,
  logLines,
  processGone,
  type Serving,
  spawnCli,
  startServe,
  textOf,
  withTimeout,
} from './cli-helpers.ts';

const CATALOG_LINE = /^catalog: (\d+) tools, (\d+) prompts, (\d+) resources from 2\/2 upstreams$/;

describe('mcp-fed serve --port N (no config: the sample federation of npm start)', () => {
  let srv: Serving;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    srv = await startServe(['serve', '--port', String(port)]);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('prints the URL it listens on and the catalog size', () => {
    expect(srv.url).toBe(`http://127.0.0.1:${port}/mcp`);
    const m = CATALOG_LINE.exec(srv.catalog);
    expect(m, srv.catalog).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(m?.[2])).toBeGreaterThanOrEqual(1);
    // stdout is the two lines a person reads; the JSON logs went to stderr.
    expect(srv.stdout().trim().split('\n')).toEqual([`mcp-fed listening on ${srv.url}`, srv.catalog]);
    expect(logLines(srv.stderr()).some((l) => l.msg === 'upstream ready')).toBe(true);
  });

  it('serves an SDK v2 client pinned to 2026-07-28: list and call', async () => {
    let client: Client | undefined;
    try {
      client = await modernClient(srv.url);
      expect(client.getProtocolEra()).toBe('modern');
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['tools__echo', 'content__bump']));
      const result = await client.callTool({ name: 'tools__echo', arguments: { text: 'hello v2' } });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toBe('hello v2');
    } finally {
      await client?.close();
    }
  });

  it('serves an SDK v1 client (2025-era session): list and call', async () => {
    const { client, transport } = await legacyClient(srv.url);
    try {
      expect(transport.sessionId).toBeTruthy();
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['tools__echo', 'content__bump']));
      const result = await client.callTool({ name: 'tools__echo', arguments: { text: 'hello v1' } });
      expect(result.isError).toBeFalsy();
      expect(textOf(result)).toBe('hello v1');
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
  });

  it('stops on SIGTERM, and takes its sample children with it', async () => {
    const pid = srv.proc.pid as number;
    const sample = logLines(srv.stderr()).find((l) => l.msg === 'started sample upstream');
    expect(sample, `no "started sample upstream" log line in:\n${srv.stderr()}`).toMatchObject({
      upstream: 'tools',
    });
    const samplePort = Number(new URL(String(sample?.url)).port);
    expect(await isListening(samplePort)).toBe(true);
    // The tools sample (HTTP) and the content sample (stdio) are both children of the proxy.
    const children = childPids(pid);
    if (children.length > 0) expect(children).toEqual(expect.arrayContaining([sample?.pid]));

    const tookMs = await srv.stop();
    const { code, signal } = await srv.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(5_000);
    expect(await isListening(port)).toBe(false);
    await eventually(async () => {
      expect(await isListening(samplePort)).toBe(false);
    }, 5_000);
    await eventually(() => {
      expect(children.filter((c) => !processGone(c))).toEqual([]);
    }, 5_000);
  });
});

describe('mcp-fed serve stopped while it starts', () => {
  it('SIGTERM before the catalog is loaded leaves no sample upstream behind', async () => {
    const cli = spawnCli(['serve', '--port', '0']);
    try {
      // The tools sample is up once this is logged; the stdio sample and the catalog are still loading.
      const sample = await withTimeout(
        new Promise<Record<string, unknown>>((resolve) => {
          const check = () => {
            const line = logLines(cli.stderr()).find((l) => l.msg === 'started sample upstream');
            if (line) {
              cli.proc.stderr!.off('data', check);
              resolve(line);
            }
          };
          cli.proc.stderr!.on('data', check);
        }),
        30_000,
        'no "started sample upstream" log line',
      );
      const samplePort = Number(new URL(String(sample.url)).port);
      const children = childPids(cli.proc.pid as number);
      cli.proc.kill('SIGTERM');
      const { code, signal } = await withTimeout(cli.exited, 8_000, 'mcp-fed did not exit on SIGTERM');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(cli.stdout()).toBe('');
      await eventually(async () => {
        expect(await isListening(samplePort)).toBe(false);
      }, 5_000);
      await eventually(() => {
        expect(children.filter((c) => !processGone(c))).toEqual([]);
      }, 5_000);
    } finally {
      cli.proc.kill('SIGKILL');
    }
  });
});

describe('npm start', () => {
  it('serves the sample federation on http://127.0.0.1:8000/mcp', async (ctx) => {
    if (!(await canBind(8000))) {
      ctx.skip('port 8000 is in use on this machine, so `npm start` (fixed port 8000) cannot run here');
    }
    // Detached: npm runs the CLI through a shell, so the whole group can be cleaned up if a check fails.
    const srv = await startServe([], { command: ['npm', 'start'], detached: true });
    const group = srv.proc.pid as number;
    let client: Client | undefined;
    try {
      expect(srv.url).toBe('http://127.0.0.1:8000/mcp');
      expect(srv.catalog).toMatch(CATALOG_LINE);
      client = await modernClient(srv.url);
      const result = await client.callTool({ name: 'tools__echo', arguments: { text: 'npm start' } });
      expect(textOf(result)).toBe('npm start');
      await client.close();
      client = undefined;
      // Ctrl-C: the terminal sends SIGINT to the whole foreground group (npm, its shell, the CLI, the
      // samples). A SIGTERM to npm alone would not do: npm passes it to `sh -c`, which does not pass it on.
      process.kill(-group, 'SIGINT');
      await withTimeout(srv.exited, 8_000, 'npm start did not exit after Ctrl-C');
      await eventually(async () => {
        expect(await isListening(8000)).toBe(false);
      }, 5_000);
    } finally {
      await client?.close();
      try {
        process.kill(-group, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
