import type { CallContext, McpCall } from '../../src/hooks/pipeline.ts';

/** A fresh per-call context for `caller`, as the endpoint builds one, for hooks tested on their own. */
export const callContextFor = (caller = 'alice'): CallContext => ({
  requestId: 'r1',
  caller: { id: caller, groups: [] },
  era: 'modern',
  hops: 1,
  decision: 'allow',
  tokenIds: [],
  hookMs: 0,
});

/** A tools/call of an `echo` tool with the given arguments, already routed to its upstream. */
export const echoCall = (args: unknown): McpCall => ({
  method: 'tools/call',
  publicName: 'tools__echo',
  upstream: 'tools',
  upstreamName: 'echo',
  params: { name: 'echo', arguments: args },
});
