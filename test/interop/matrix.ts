/**
 * The interop matrix's rows: each kind of upstream, how to start it, which client eras can talk to
 * it directly, which features it has (what the direct run showed it can do; see MATRIX.md) and
 * whether it also runs behind two proxy replicas on one Redis (every Streamable HTTP row: stateful
 * ones share per-client upstream sessions between replicas, stateless ones must simply not need any).
 */

import { type Dialect, FEATURES, type Feature } from './checks.ts';
import type { Era } from './clients.ts';
import { type RunningUpstream, startAgentCore, startEverything, startV1, startV2 } from './upstreams.ts';

export interface Row {
  id: string;
  start(): Promise<RunningUpstream>;
  dialect: Dialect;
  /** The eras whose client can reach the upstream directly (the others are asserted proxied only). */
  directEras: Era[];
  /** What the upstream can do: checked through the proxy, for both client eras. */
  features: readonly Feature[];
  /** Where a direct client of one era gets less than `features` (the server cannot do more for it). */
  direct?: Partial<Record<Era, readonly Feature[]>>;
  /** Also through two replicas sharing Redis, the client alternating between them request by request. */
  replicated: boolean;
}

const ALL = FEATURES;
const without = (...drop: Feature[]) => FEATURES.filter((f) => !drop.includes(f));

/** Our own fixtures (sdk-v1-server.ts, sdk-v2-server.ts): the same tools in both SDKs. */
export const FIXTURE: Dialect = {
  alone: ['elicit', 'sample'],
  echo: { tool: 'echo', args: (text) => ({ text }), expect: (t) => t },
  structured: { tool: 'structured', args: { a: 2, b: 3.5 }, expect: { sum: 5.5 } },
  image: { tool: 'image', args: {} },
  slow: { tool: 'slow', args: (steps, delayMs) => ({ steps, delayMs }), done: /^done after \d+ steps$/ },
  stats: 'stats',
  fail: {
    tool: 'fail',
    args: { message: 'boom: upstream tool error' },
    expect: /^boom: upstream tool error$/,
  },
  prompt: { name: 'greet', args: { name: 'Ada' }, expect: 'Hello, Ada!' },
  resource: { uri: 'test://static', expect: /^static content$/ },
  subscribe: { uri: 'test://counter', trigger: { tool: 'bump', args: {} }, repeatable: true },
  elicit: { tool: 'ask', args: { question: 'What is your name?' } },
  sample: { tool: 'sample', args: { prompt: 'What is six times seven?' } },
  listChanged: {
    tool: 'add_tool',
    args: (name) => ({ name }),
    method: 'notifications/tools/list_changed',
    listsTool: true,
  },
};

/** server-everything's own tools (it has no stats tool and ignores cancellation). */
export const EVERYTHING: Dialect = {
  alone: ['elicit', 'sample', 'subscribe'],
  echo: { tool: 'echo', args: (message) => ({ message }), expect: (t) => `Echo: ${t}` },
  structured: {
    tool: 'get-structured-content',
    args: { location: 'Chicago' },
    expect: { temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 },
  },
  image: { tool: 'get-tiny-image', args: {} },
  slow: {
    tool: 'trigger-long-running-operation',
    args: (steps, delayMs) => ({ steps, duration: (steps * delayMs) / 1000 }),
    done: /^Long running operation completed/,
  },
  fail: {
    // A handler that throws: v1 McpServer turns it into an isError result.
    tool: 'gzip-file-as-resource',
    args: { name: 'x.gz', data: 'ftp://example.invalid/x', outputType: 'resource' },
    expect: /Unsupported URL protocol/,
  },
  prompt: { name: 'simple-prompt', args: {}, expect: 'This is a simple prompt without arguments.' },
  resource: { uri: 'demo://resource/dynamic/text/1', expect: /^Resource 1: This is a plaintext resource/ },
  subscribe: {
    uri: 'demo://resource/dynamic/text/1',
    trigger: { tool: 'toggle-subscriber-updates', args: {} },
    repeatable: false,
  },
  elicit: { tool: 'trigger-elicitation-request', args: {} },
  sample: { tool: 'trigger-sampling-request', args: { prompt: 'six times seven?', maxTokens: 20 } },
  listChanged: {
    // Registers a session resource: resources/list_changed.
    tool: 'gzip-file-as-resource',
    args: (name) => ({
      name: `${name}.gz`,
      data: 'data:text/plain;base64,aGVsbG8=',
      outputType: 'resourceLink',
    }),
    method: 'notifications/resources/list_changed',
    listsTool: false,
  },
};

const legacyOnly: Era[] = ['legacy'];

export const ROWS: Row[] = [
  {
    id: 'sdk-v1 stateless+JSON',
    start: () => startV1(['--stateless', '--json']),
    dialect: FIXTURE,
    directEras: legacyOnly,
    // JSON responses carry no progress; stateless: no stream for notifications or input requests.
    features: without('progress', 'subscribe', 'elicit', 'sample', 'listChanged'),
    replicated: true,
  },
  {
    id: 'sdk-v1 stateless+SSE',
    start: () => startV1(['--stateless']),
    dialect: FIXTURE,
    directEras: legacyOnly,
    // Stateless: nothing outlives a request, so no notifications and no answer reaches the asking instance.
    features: without('subscribe', 'elicit', 'sample', 'listChanged'),
    replicated: true,
  },
  {
    id: 'sdk-v1 stateful+JSON',
    start: () => startV1(['--stateful', '--json']),
    dialect: FIXTURE,
    directEras: legacyOnly,
    // JSON responses: no progress and no server requests on the call (the GET stream still works).
    features: without('progress', 'elicit', 'sample'),
    replicated: true,
  },
  {
    id: 'sdk-v1 stateful+SSE+event store',
    start: () => startV1(['--stateful', '--event-store']),
    dialect: FIXTURE,
    directEras: legacyOnly,
    features: ALL,
    replicated: true,
  },
  {
    id: 'sdk-v1 closes stream mid-call (resumed)',
    start: () => startV1(['--stateful', '--event-store', '--close-mid-call']),
    dialect: FIXTURE,
    directEras: legacyOnly,
    features: ALL,
    replicated: true,
  },
  {
    id: 'sdk-v1 asks on the standalone stream',
    start: () => startV1(['--stateful', '--ask-standalone']),
    dialect: FIXTURE,
    directEras: legacyOnly,
    features: ALL,
    replicated: true,
  },
  {
    id: 'server-everything stdio',
    start: () => startEverything('stdio'),
    dialect: EVERYTHING,
    directEras: legacyOnly,
    features: ALL,
    replicated: false,
  },
  {
    id: 'server-everything SSE',
    start: () => startEverything('sse'),
    dialect: EVERYTHING,
    directEras: legacyOnly,
    features: ALL,
    replicated: false,
  },
  {
    id: 'server-everything Streamable HTTP',
    start: () => startEverything('streamableHttp'),
    dialect: EVERYTHING,
    directEras: legacyOnly,
    features: ALL,
    replicated: true,
  },
  {
    id: 'sdk-v2 2026-07-28',
    start: () => startV2('reject'),
    dialect: FIXTURE,
    directEras: ['modern'],
    features: ALL,
    replicated: true,
  },
  {
    id: 'sdk-v2 legacy stateless',
    start: () => startV2('stateless'),
    dialect: FIXTURE,
    directEras: ['modern', 'legacy'],
    // The SDK's stateless 2025 fallback cannot push: a direct 2025 client gets no notifications and no
    // input requests; through the proxy (which speaks 2026-07-28 to it) both eras should get everything.
    features: ALL,
    direct: { legacy: without('subscribe', 'elicit', 'sample', 'listChanged') },
    replicated: true,
  },
  {
    id: 'AgentCore Runtime shape',
    start: startAgentCore,
    dialect: FIXTURE,
    directEras: legacyOnly,
    // A stateless server behind a session-stamping front: as stateless+SSE.
    features: without('subscribe', 'elicit', 'sample', 'listChanged'),
    replicated: true,
  },
];

export const row = (id: string): Row => {
  const found = ROWS.find((r) => r.id === id);
  if (!found) throw new Error(`no matrix row ${id}`);
  return found;
};
