// `mcp-fed serve --config FILE` as a real process: flag overrides, the admin routes (/healthz, /readyz,
// /metrics) and graceful shutdown with a call in flight.
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, legacyClient, modernClient, SAMPLES } from '../helpers/federation.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';
import {
  freePort,
  isListening,
  type Serving,
  sampleConfigYaml,
  startServe,
  tempDir,
  textOf,
  withTimeout,
} from './cli-helpers.ts';

interface Readiness {
  ready: boolean;
  store: string;
  notReady: string[];
  upstreams: { name: string; state: string; required: boolean; tools: number }[];
}

let tools: StartedServer;
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  [tools, dir] = await Promise.all([startServer(SAMPLES.tools, ['--port', '0']), tempDir()]);
});
afterAll(async () => {
  await tools?.stop();
  await dir?.remove();
});

describe('mcp-fed serve --config FILE --port N --host H', () => {
  let srv: Serving;
  let port: number;
  let configPort: number;

  beforeAll(async () => {
    [port, configPort] = [await freePort(), await freePort()];
    const path = await dir.write(
      'fed.yaml',
      sampleConfigYaml(tools.url, { listen: { host: '0.0.0.0', port: configPort } }),
    );
    srv = await startServe(['serve', '--config', path, '--port', String(port), '--host', '127.0.0.1']);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('listens where the flags say, not where the file says', async () => {
    expect(srv.url).toBe(`http://127.0.0.1:${port}/mcp`);
    expect(srv.catalog).toMatch(/^catalog: \d+ tools, \d+ prompts, \d+ resources from 2\/2 upstreams$/);
    expect(await isListening(configPort)).toBe(false);
  });

  it('federates the HTTP upstream and the stdio child for both SDK generations', async () => {
    let modern: Client | undefined;
    const legacy = await legacyClient(srv.url);
    try {
      modern = await modernClient(srv.url);
      for (const client of [modern, legacy.client]) {
        const names = (await client.listTools()).tools.map((t) => t.name);
        expect(names).toEqual(expect.arrayContaining(['tools__echo', 'tools__slow', 'content__bump']));
        expect(textOf(await client.callTool({ name: 'tools__echo', arguments: { text: 'cfg' } }))).toBe(
          'cfg',
        );
        expect(textOf(await client.callTool({ name: 'content__bump', arguments: {} }))).toMatch(/^counter=/);
      }
    } finally {
      await modern?.close();
      await legacy.transport.terminateSession().catch(() => {});
      await legacy.client.close();
    }
  });

  it('GET /healthz: 200', async () => {
    const res = await fetch(`${srv.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /readyz: 200, every upstream listed with its state', async () => {
    const res = await fetch(`${srv.base}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Readiness;
    expect(body).toMatchObject({ ready: true, store: 'ok', notReady: [] });
    expect(body.upstreams.map((u) => [u.name, u.state, u.required])).toEqual([
      ['tools', 'ready', false],
      ['content', 'ready', false],
    ]);
  });

  it('GET /metrics: Prometheus text with request, latency and upstream series', async () => {
    const client = await modernClient(srv.url);
    try {
      await client.callTool({ name: 'tools__echo', arguments: { text: 'metered' } });
    } finally {
      await client.close();
    }
    const res = await fetch(`${srv.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const counter =
      /^mcp_fed_requests_total\{method="tools\/call",tool="tools__echo",upstream="tools",result="ok"\} (\d+)$/m;
    expect(Number(counter.exec(text)?.[1] ?? 0), text).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^# TYPE mcp_fed_requests_total counter$/m);
    expect(text).toMatch(/^mcp_fed_upstream_up\{upstream="tools"\} 1$/m);
    expect(text).toMatch(/^mcp_fed_upstream_up\{upstream="content"\} 1$/m);
    expect(text).toMatch(/^# TYPE mcp_fed_added_latency_seconds histogram$/m);
    expect(text).toMatch(/^mcp_fed_added_latency_seconds_bucket\{le="[^"]+",tool="tools__echo"\} \d+$/m);
    expect(text).toMatch(/^mcp_fed_added_latency_seconds_count\{tool="tools__echo"\} [1-9]\d*$/m);
    expect(text).toMatch(/^# TYPE mcp_fed_upstream_latency_seconds histogram$/m);
    expect(text).toMatch(/^mcp_fed_upstream_latency_seconds_count\{upstream="tools"\} [1-9]\d*$/m);
  });
});

describe('/readyz with a required upstream down', () => {
  let srv: Serving;
  let port: number;

  beforeAll(async () => {
    const [closedA, closedB] = [await freePort(), await freePort()];
    port = await freePort();
    const extra = `  - name: optional-down
    url: "http://127.0.0.1:${closedA}/mcp"
  - name: required-down
    url: "http://127.0.0.1:${closedB}/mcp"
    required: true
`;
    // No flags: host and port come from the file.
    const path = await dir.write(
      'down.yaml',
      sampleConfigYaml(tools.url, { listen: { host: '127.0.0.1', port }, extra }),
    );
    srv = await startServe(['serve', '--config', path]);
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('serves what is up, on the port of the config file', async () => {
    expect(srv.url).toBe(`http://127.0.0.1:${port}/mcp`);
    expect(srv.catalog).toMatch(/ from 2\/4 upstreams$/);
    const client = await modernClient(srv.url);
    try {
      expect(textOf(await client.callTool({ name: 'tools__echo', arguments: { text: 'up' } }))).toBe('up');
    } finally {
      await client.close();
    }
  });

  it('answers 503 and names only the required one in notReady; /healthz stays 200', async () => {
    const res = await fetch(`${srv.base}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as Readiness;
    expect(body.ready).toBe(false);
    expect(body.notReady).toEqual(['required-down']);
    const states = Object.fromEntries(body.upstreams.map((u) => [u.name, u.state]));
    expect(Object.keys(states)).toEqual(['tools', 'content', 'optional-down', 'required-down']);
    expect(states).toMatchObject({ tools: 'ready', content: 'ready' });
    expect(states['required-down']).not.toBe('ready');
    expect(states['optional-down']).not.toBe('ready');
    expect((await fetch(`${srv.base}/healthz`)).status).toBe(200);
  });

  it('reports the dead upstreams as down in /metrics', async () => {
    const text = await (await fetch(`${srv.base}/metrics`)).text();
    expect(text).toMatch(/^mcp_fed_upstream_up\{upstream="required-down"\} 0$/m);
    expect(text).toMatch(/^mcp_fed_upstream_up\{upstream="optional-down"\} 0$/m);
    expect(text).toMatch(/^mcp_fed_upstream_up\{upstream="tools"\} 1$/m);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with a slow call in flight ends the process within a few seconds', async () => {
    const path = await dir.write('slow.yaml', sampleConfigYaml(tools.url));
    const srv = await startServe(['serve', '--config', path]);
    const client = await modernClient(srv.url);
    const stats = async () =>
      JSON.parse(textOf(await client.callTool({ name: 'tools__stats', arguments: {} })) ?? '{}') as {
        slowStarted: number;
        slowCancelled: number;
      };
    try {
      const before = await stats();
      // 100 x 100 ms: far longer than the proxy's 5 s shutdown deadline.
      const call = client.callTool({ name: 'tools__slow', arguments: { steps: 100, delayMs: 100 } });
      const settled = call.then(
        () => 'resolved',
        () => 'rejected',
      );
      await eventually(
        async () => expect((await stats()).slowStarted).toBeGreaterThan(before.slowStarted),
        10_000,
      );

      const tookMs = await srv.stop(10_000);
      const { code, signal } = await srv.exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(tookMs).toBeLessThan(4_000);
      expect(await isListening(Number(new URL(srv.url).port))).toBe(false);
      // The caller is not left hanging on a dead connection.
      expect(await withTimeout(settled, 5_000, 'the in-flight call did not settle')).toBe('rejected');
      // ... and the upstream is not left running it: the forwarded call was cancelled there.
      const direct = await modernClient(tools.url);
      try {
        await eventually(async () => {
          const upstream = JSON.parse(
            textOf(await direct.callTool({ name: 'stats', arguments: {} })) ?? '{}',
          ) as { slowCancelled: number };
          expect(upstream.slowCancelled).toBeGreaterThan(before.slowCancelled);
        }, 5_000);
      } finally {
        await direct.close();
      }
    } finally {
      await client.close().catch(() => {});
      await srv.stop();
    }
  });
});
