/**
 * Acting for the caller (issue 13, "Performance"): what resolving a cached exchanged token costs when
 * a call is signed (target ≤ 10 µs), beside the proxy's own cached OAuth token. In-process, one sign
 * at a time after a warm-up, the same caller credential each time (as one caller's calls are).
 * Standalone: `node --import tsx bench/per-caller-rows.ts`.
 */
import { ConfigSchema } from '../src/config/schema.ts';
import { actingFor, rememberCallerToken } from '../src/inbound/auth/caller-tokens.ts';
import { createUpstreamAuth, type OutgoingRequest, type UpstreamAuth } from '../src/upstream/auth/index.ts';
import type { MicroRow } from './cedar-rows.ts';
import { startIssuer } from './jwt-issuer.ts';
import { startExchangeServer } from './token-exchange-server.ts';

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function signTimes(
  auth: UpstreamAuth,
  who: OutgoingRequest['actingFor'],
  n: number,
): Promise<number[]> {
  const url = new URL('http://127.0.0.1:1/mcp');
  const times: number[] = [];
  const warm = Math.min(2_000, n);
  for (let i = 0; i < n + warm; i++) {
    const req: OutgoingRequest = {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      body: '{}',
      actingFor: who,
    };
    const t0 = process.hrtime.bigint();
    const pending = auth.sign(req);
    if (pending) await pending;
    if (i >= warm) times.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (!req.headers.authorization) throw new Error('nothing signed');
  }
  return times.sort((a, b) => a - b);
}

const row = (name: string, times: number[], target: number | null): MicroRow => {
  const p50 = +pct(times, 0.5).toFixed(2);
  return {
    row: name,
    p50_us: p50,
    p99_us: +pct(times, 0.99).toFixed(2),
    target_us: target,
    verdict: target === null ? 'reported' : p50 <= target ? 'met' : 'missed',
  };
};

export async function measurePerCallerRows(iterations = 50_000): Promise<MicroRow[]> {
  const issuer = await startIssuer('bench-user');
  const server = await startExchangeServer({
    subjectIssuer: issuer.issuer,
    subjectJwksUri: issuer.jwksUri,
    clientId: 'bench',
    clientSecret: 'bench-secret',
    scope: 'mcp:tools',
  });
  try {
    const client = {
      tokenUrl: server.tokenUrl,
      clientId: 'bench',
      clientSecret: 'bench-secret',
      resource: 'http://up/mcp',
    };
    const config = ConfigSchema.parse({
      inbound: {
        auth: { kind: 'jwt', issuer: issuer.issuer, audience: issuer.audience, jwksUri: issuer.jwksUri },
      },
      upstreams: [
        {
          name: 'tx',
          url: 'http://127.0.0.1:1/mcp',
          auth: { kind: 'tokenExchange', ...client },
          catalogAuth: { kind: 'oauth2', ...client },
        },
        { name: 'svc', url: 'http://127.0.0.1:1/mcp', auth: { kind: 'oauth2', ...client } },
      ],
    });
    const [tx, svc] = config.upstreams.map((u) => createUpstreamAuth(u)!);
    // One caller, as inbound/auth/jwt.ts leaves it: its Caller cached per token, the token beside it.
    const caller = { id: 'bench-user', groups: [], kind: 'jwt' as const };
    rememberCallerToken(caller, issuer.token, Math.floor(Date.now() / 1000) + 3600);
    const who = actingFor(caller);
    const rows = [
      row(
        'tokenExchange: a cached exchanged token, per signed request',
        await signTimes(tx!, who, iterations),
        10,
      ),
      row(
        'oauth2 service token (cached), per signed request',
        await signTimes(svc!, undefined, iterations),
        null,
      ),
    ];
    if (server.counts.exchange !== 1) throw new Error(`expected one exchange, saw ${server.counts.exchange}`);
    tx!.close?.();
    svc!.close?.();
    return rows;
  } finally {
    await server.close();
    await issuer.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await measurePerCallerRows(), null, 2)}\n`);
}
