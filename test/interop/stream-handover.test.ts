/**
 * DESIGN.md "One GET stream per upstream session": the replica that opened a client's upstream session
 * holds its GET stream under a lease; when that replica goes away the lease goes with it, and the
 * replica now serving the client takes the stream over, so a server that asks on it (SDK v1
 * `elicitInput` without a related request) still reaches the client.
 */
import { randomUUID } from 'node:crypto';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Http } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { startProxy } from '../helpers/federation.ts';
import { privateRedis, type TestRedis } from '../helpers/redis.ts';
import { type RunningUpstream, startV1 } from './upstreams.ts';

const SECRETS = { requestStateKey: 'stream-handover-request-state-key-0123456789' };
let upstream: RunningUpstream;
let redis: TestRedis;
let first: { app: App; url: string };
let second: { app: App; url: string };

beforeAll(async () => {
  upstream = await startV1(['--stateful', '--ask-standalone']);
  redis = await privateRedis();
  const config = {
    upstreams: [upstream.proxy],
    secrets: SECRETS,
    store: { kind: 'redis', url: redis.url, keyPrefix: `handover-${randomUUID().slice(0, 8)}:` },
  };
  first = await startProxy(config);
  second = await startProxy(config);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([first.app.close(), second.app.close()]);
  await upstream.stop();
  await redis.stop();
});

it('takes the GET stream over when the replica holding it goes away', { timeout: 30_000 }, async () => {
  let target = first.url;
  const client = new V1Client({ name: 'handover', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    asked.push(String(req.params.message));
    return { action: 'accept', content: { name: `answer ${asked.length}` } };
  });
  await client.connect(new V1Http(new URL(first.url), { fetch: (_input, init) => fetch(target, init) }));
  const ask = async () =>
    (await client.callTool({ name: 'ask', arguments: { question: 'Who?' } }, undefined, { timeout: 10_000 }))
      .content as { type: string; text?: string }[];
  try {
    // The first replica opens the client's upstream session and holds its GET stream.
    expect(JSON.stringify(await ask())).toContain('answer 1');
    await first.app.close();
    // Its lease went with it: the second replica, now serving the session, takes the stream over.
    target = second.url;
    expect(JSON.stringify(await ask())).toContain('answer 2');
    expect(asked).toHaveLength(2);
  } finally {
    await client.close().catch(() => {});
  }
});
