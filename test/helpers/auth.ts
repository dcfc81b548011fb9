import { Writable } from 'node:stream';
import pino from 'pino';
import { type App, createApp } from '../../src/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { modernRequest, rawPost } from './federation.ts';

const AWS_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_ROLE_ARN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
  'AWS_EC2_METADATA_DISABLED',
];

/**
 * Points the AWS credential chain of this process at nothing but what a test sets: no shared files,
 * no instance metadata (nothing may leave the machine), no inherited keys. Returns the restore.
 */
export function hermeticAwsEnv(set: Record<string, string> = {}): () => void {
  const saved = Object.fromEntries(AWS_ENV.map((k) => [k, process.env[k]]));
  for (const k of AWS_ENV) delete process.env[k];
  Object.assign(process.env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/mcp-fed-test/credentials',
    AWS_CONFIG_FILE: '/nonexistent/mcp-fed-test/config',
    ...set,
  });
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Calls a /_control hook of upstreams/protected-server.ts (started with --control). */
export async function control<T = Record<string, unknown>>(
  serverUrl: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(new URL(`/_control/${path}`, serverUrl), {
    method: body === undefined ? 'GET' : 'POST',
    ...(body !== undefined && {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    }),
  });
  if (!res.ok) throw new Error(`control ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export interface ProtectedStats {
  accepted: number;
  rejected: number;
  byMethod: Record<string, number>;
  byKey: Record<string, number>;
  reasons: Record<string, number>;
  distinctTokens: number;
}

/** The proxy in this process, like startProxy, with its debug log captured for leak checks. */
export async function startLoggedProxy(raw: Record<string, unknown>, upstreamWaitMs = 10_000) {
  const parsed = parseConfig({ listen: { host: '127.0.0.1', port: 0, path: '/mcp' }, ...raw });
  if (!parsed.ok) throw new Error(`bad test config: ${JSON.stringify(parsed.problems)}`);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  const app: App = await createApp(parsed.config, { log, upstreamWaitMs });
  const url = await app.listen(0, '127.0.0.1');
  return { app, url, logs };
}

/** One modern tools/call, raw, so error codes are visible. */
export async function callTool(url: string, name: string, args: Record<string, unknown> = {}, id = 1) {
  const { headers, body } = modernRequest('tools/call', { name, arguments: args }, id, name);
  const reply = await rawPost(url, body, headers);
  return { reply, result: reply.json?.result, error: reply.json?.error };
}

/** The /readyz body. */
export async function readiness(proxyUrl: string) {
  const res = await fetch(new URL('/readyz', proxyUrl));
  return (await res.json()) as { upstreams: { name: string; state: string; error?: string }[] };
}

/** The first text block of a tool result ('' when there is none). */
export function textOf(result: Record<string, unknown> | undefined): string {
  const content = result?.content as { text?: string }[] | undefined;
  return content?.[0]?.text ?? '';
}

/** A `${NAME}` environment reference, as written in a config file. */
export const envRef = (name: string) => `\${${name}}`;
