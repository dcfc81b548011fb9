/**
 * Registers one matrix row as vitest tests: for each client era, every feature of the row checked
 * directly (where that era's client can reach the upstream), through one proxy with the upstream
 * as its only upstream (prefix ""), and, for Streamable HTTP rows, through two proxy replicas sharing a
 * Redis with the client alternating between them. One fresh client per check;
 * the checks of a row run concurrently, except the dialect's `alone` ones, which run one at a time last.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it, vi } from 'vitest';
import type { App } from '../../src/app.ts';
import { startProxy } from '../helpers/federation.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { CHECKS, type Feature } from './checks.ts';
import { connect, type Endpoint, type Era } from './clients.ts';
import type { Row } from './matrix.ts';
import type { RunningUpstream } from './upstreams.ts';

const CHECK_TIMEOUT_MS = 15_000;
const SECRETS = {
  vaultKey: 'interop-matrix-vault-key-0123456789abcdef',
  requestStateKey: 'interop-matrix-request-state-key-0123456789',
};

// Rows run their checks concurrently (a hanging check must not hold up the rest).
vi.setConfig({ maxConcurrency: 200 });

type Target = 'direct' | 'proxy' | 'proxy x2';

/** A Redis shared by the replicated rows of one file, started on first use. */
export function sharedRedis(): { get(): Promise<TestRedis>; stop(): Promise<void> } {
  let redis: Promise<TestRedis> | undefined;
  return {
    get: () => {
      redis ??= privateRedis();
      return redis;
    },
    stop: async () => {
      if (redis) await (await redis).stop();
    },
  };
}

export function describeRow(row: Row, redis: () => Promise<TestRedis>): void {
  describe.concurrent(row.id, () => {
    let upstream: RunningUpstream | undefined;
    const apps: App[] = [];
    const endpoints = new Map<Target, Promise<Endpoint>>();

    const proxies = async (n: number): Promise<Endpoint> => {
      const up = upstream as RunningUpstream;
      const config: Record<string, unknown> = { upstreams: [up.proxy], secrets: SECRETS };
      if (n > 1) {
        const { url } = await redis();
        config.store = { kind: 'redis', url, keyPrefix: `mcp-fed-interop:${randomUUID().slice(0, 8)}:` };
      }
      const urls: string[] = [];
      for (let i = 0; i < n; i++) {
        const { app, url } = await startProxy(config);
        apps.push(app);
        urls.push(url);
      }
      return { kind: 'http', urls };
    };

    beforeAll(async () => {
      upstream = await row.start();
      endpoints.set('direct', Promise.resolve(upstream.direct));
      endpoints.set('proxy', proxies(1));
      if (row.replicated) endpoints.set('proxy x2', proxies(2));
      // A proxy that fails to start fails its own checks, not the direct ones.
      for (const e of endpoints.values()) e.catch(() => {});
      await Promise.allSettled(endpoints.values());
    }, 60_000);

    afterAll(async () => {
      await Promise.allSettled(apps.map((a) => a.close()));
      await upstream?.stop();
    });

    const targets: Target[] = ['direct', 'proxy', ...(row.replicated ? (['proxy x2'] as const) : [])];
    const cells: { target: Target; era: Era; feature: Feature }[] = [];
    for (const era of ['legacy', 'modern'] as Era[]) {
      for (const target of targets) {
        if (target === 'direct' && !row.directEras.includes(era)) continue;
        for (const feature of target === 'direct' ? (row.direct?.[era] ?? row.features) : row.features) {
          cells.push({ target, era, feature });
        }
      }
    }
    const check =
      ({ target, era, feature }: (typeof cells)[number]) =>
      async () => {
        const endpoint = await (endpoints.get(target) as Promise<Endpoint>);
        const client = await connect(era, endpoint);
        try {
          await CHECKS[feature](client, row.dialect);
        } finally {
          await client.close();
        }
      };
    const name = (c: (typeof cells)[number]) => `${c.target} · ${c.era} · ${c.feature}`;
    const opts = { timeout: CHECK_TIMEOUT_MS };
    // Everything else at once; then the dialect's `alone` features one at a time (nothing else of this
    // row in flight), so a proxy that relays a request only while one call is in flight is judged fairly.
    const alone = (c: (typeof cells)[number]) => row.dialect.alone.includes(c.feature);
    for (const c of cells.filter((c) => !alone(c))) it(name(c), opts, check(c));
    for (const c of cells.filter(alone)) it.sequential(name(c), opts, check(c));
  });
}
