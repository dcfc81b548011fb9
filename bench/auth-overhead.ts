/**
 * What the upstream auth adapters cost (issue "Upstream auth adapters", Performance), measured two
 * ways until `npm run bench` carries the auth rows (bench/auth-rows.ts):
 *   1. in process: p50 of one SigV4 signature (200 B and 4 KiB bodies) and of one call with a cached
 *      OAuth token, and, for reference, the test upstream's own checks (aws4 verify, JWT lookup);
 *   2. end to end: modern tools/call p50 through the proxy to the same sample server with no check,
 *      with SigV4 and with OAuth, rounds interleaved so machine drift lands on all three alike.
 *
 *   node --import tsx bench/auth-overhead.ts [--rounds N] [--duration S] [--out FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OAuth2Auth } from '../src/upstream/auth/oauth2.ts';
import { SigV4Auth } from '../src/upstream/auth/sigv4.ts';
import type { OutgoingRequest } from '../src/upstream/auth/types.ts';
import { AuthServer } from '../upstreams/lib/auth-server.ts';
import { JwtVerifier } from '../upstreams/lib/jwt-verifier.ts';
import { verifySigV4 } from '../upstreams/lib/sigv4-verifier.ts';
import { AUTH_BENCH_ENV, type AuthKind, startAuthRow } from './auth-rows.ts';
import { Client, payload } from './driver.ts';
import { type Child, cpuMicros, killAll, startNode } from './procs.ts';
import { proxyEntry } from './proxy-entry.ts';

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '0.5' },
    out: { type: 'string' },
  },
  strict: true,
});
const ROUNDS = Number(flags.rounds);
const DURATION_MS = Number(flags.duration) * 1000;
Object.assign(process.env, AUTH_BENCH_ENV);

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const median = p50;

/** p50 in microseconds of `fn`, timed one call at a time after a warm-up. */
async function micro(fn: () => unknown, n = 20_000): Promise<number> {
  for (let i = 0; i < 2_000; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return p50(times);
}

const body = (bytes: number) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name: 'echo', arguments: { text: payload(bytes) } },
  });
const headers = () => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': 'tools/call',
  'mcp-name': 'echo',
  'x-request-id': '0f8e2c1a-5b7d-4e3f-9a6b-1c2d3e4f5a6b',
  'x-mcp-fed-hops': '1',
});

async function inProcess() {
  const url = new URL('http://127.0.0.1:3101/mcp');
  const sigv4 = new SigV4Auth('bench', { region: 'us-east-1', service: 'bedrock-agentcore' });
  const out: Record<string, number> = {};
  for (const bytes of [200, 4096]) {
    const b = body(bytes);
    out[`sigv4_sign_${bytes}B_us`] = await micro(() =>
      sigv4.sign({ method: 'POST', url, headers: headers(), body: b }),
    );
    const signed: OutgoingRequest = { method: 'POST', url, headers: headers(), body: b };
    await sigv4.sign(signed);
    const received = {
      method: 'POST',
      target: '/mcp',
      headers: { ...signed.headers, host: url.host },
      body: Buffer.from(b),
    };
    const verify = {
      region: 'us-east-1',
      service: 'bedrock-agentcore',
      lookup: () => ({
        accessKeyId: AUTH_BENCH_ENV.AWS_ACCESS_KEY_ID!,
        secretAccessKey: AUTH_BENCH_ENV.AWS_SECRET_ACCESS_KEY!,
      }),
    };
    if (!verifySigV4(received, verify).ok) throw new Error('bench signature does not verify');
    out[`upstream_aws4_verify_${bytes}B_us`] = await micro(() => verifySigV4(received, verify), 5_000);
  }
  const server = await AuthServer.start({ clients: { bench: 'bench-secret' } });
  try {
    const oauth = new OAuth2Auth('bench', {
      kind: 'oauth2',
      tokenUrl: server.tokenUrl,
      clientId: 'bench',
      clientSecret: 'bench-secret',
      authMethod: 'client_secret_basic',
    });
    const first: OutgoingRequest = { method: 'POST', url, headers: headers(), body: body(200) };
    await oauth.sign(first);
    out.oauth2_cached_token_us = await micro(() =>
      oauth.sign({ method: 'POST', url, headers: headers(), body: '' }),
    );
    const jwt = new JwtVerifier({ issuer: server.issuer, jwksUri: server.jwksUri });
    const authorization = first.headers.authorization!;
    if (!(await jwt.verify(authorization)).ok) throw new Error('bench token does not verify');
    out.upstream_jwt_cached_verify_us = await micro(() => jwt.verify(authorization), 5_000);
    out.token_requests = server.tokenRequests;
  } finally {
    await server.stop();
  }
  return out;
}

async function endToEnd(tmp: string) {
  const spawn = (name: string, args: string[], ready: RegExp) => startNode(name, args, ready, tmp);
  const children: Child[] = [];
  const rows = await Promise.all((['sigv4', 'oauth2'] as AuthKind[]).map((k) => startAuthRow(k, spawn, tmp)));
  try {
    const referenceConfig = (name: string, auth: Record<string, unknown>) => {
      const path = join(tmp, `proxy-auth-${name}.json`);
      const upstream = { name: 'tools', url: rows[0]!.direct.url, catalogRefreshSeconds: 0, auth };
      const config = { listen: { host: '127.0.0.1', port: 0, path: '/mcp' }, upstreams: [upstream] };
      writeFileSync(path, JSON.stringify({ ...config, audit: { sink: 'off' }, pii: { mode: 'off' } }));
      return path;
    };
    // The proxy signing for the unchecked reference upstream: the proxy's share of the SigV4 cost alone.
    const signOnlyConfig = referenceConfig('sigv4-sign-only', { kind: 'sigv4', region: 'us-east-1' });
    const noneConfig = referenceConfig('none', { kind: 'none' });
    const ready = /mcp-fed listening on (\S+)/;
    const proxies: Record<string, Child> = {};
    for (const [name, config] of [
      ['none', noneConfig],
      ['sigv4', rows[0]!.configPath],
      ['oauth2', rows[1]!.configPath],
      ['sigv4_sign_only', signOnlyConfig],
    ] as const) {
      proxies[name] = await spawn(`proxy-${name}`, [proxyEntry(), 'serve', '--config', config], ready);
      children.push(proxies[name]!);
    }
    const result: Record<string, unknown> = {};
    for (const bytes of [200, 4096]) {
      const text = payload(bytes);
      const clients = Object.fromEntries(
        Object.entries(proxies).map(([name, p]) => [
          name,
          new Client({ url: p.url, tool: 'tools__echo' }, 'modern', 1),
        ]),
      );
      const p50s: Record<string, number[]> = { none: [], sigv4: [], oauth2: [], sigv4_sign_only: [] };
      const cpu: Record<string, { us: number; calls: number }> = {};
      for (const c of Object.values(clients)) await c.run(text, { durationMs: 500 });
      for (let round = 0; round < ROUNDS; round++) {
        const order = Object.keys(clients);
        for (let i = 0; i < round % order.length; i++) order.push(order.shift()!);
        for (const name of order) {
          const pid = proxies[name]!.pid;
          const before = cpuMicros(pid);
          const phase = await clients[name]!.run(text, { durationMs: DURATION_MS });
          if (phase.errors > 0) throw new Error(`${name}: ${phase.firstError}`);
          cpu[name] ??= { us: 0, calls: 0 };
          const c = cpu[name];
          c.us += cpuMicros(pid) - before;
          c.calls += phase.calls;
          p50s[name]!.push(p50(phase.latenciesMs));
        }
      }
      for (const c of Object.values(clients)) await c.close();
      const none = median(p50s.none!);
      const row = (name: string) => ({
        p50_ms: +median(p50s[name]!).toFixed(4),
        added_over_none_p50_ms: +(median(p50s[name]!) - none).toFixed(4),
        proxy_cpu_us_per_call: +(cpu[name]!.us / cpu[name]!.calls).toFixed(1),
      });
      result[`${bytes}B`] = Object.fromEntries(Object.keys(p50s).map((name) => [name, row(name)]));
    }
    return result;
  } finally {
    for (const c of children) await c.stop();
    for (const r of rows) await r.stop();
  }
}

const tmp = mkdtempSync(join(os.tmpdir(), 'mcp-fed-auth-bench-'));
try {
  const load = os.loadavg()[0] ?? 0;
  const micro_ = await inProcess();
  const e2e = await endToEnd(tmp);
  const report = {
    machine: {
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      node: process.version,
      load_1m_before: load,
    },
    rounds: ROUNDS,
    round_ms: DURATION_MS,
    in_process_p50: micro_,
    end_to_end_modern_c1: e2e,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (flags.out) writeFileSync(flags.out, `${JSON.stringify(report, null, 2)}\n`);
  rmSync(tmp, { recursive: true, force: true });
} catch (err) {
  killAll();
  process.stderr.write(`auth-overhead failed (logs in ${tmp}): ${(err as Error).stack}\n`);
  process.exitCode = 1;
}
