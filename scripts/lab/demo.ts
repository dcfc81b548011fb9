/**
 * `npm run lab -- --demo`: a few calls through the edge proxy, printed the way a person wants to see them:
 * the merged catalog, a call carrying PII (what the caller sent, what the upstream really received, what
 * the caller got back), the audit records of both proxies under one request id, that request's trace, and
 * one call over each other path (SigV4, OAuth, stdio, an ACL denial). Returns the checks that failed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ReceivedCall } from '../../upstreams/lib/tools-server-factory.ts';
import { listAll, mcpRequest, textOf } from './mcp-call.ts';
import type { ReceivedSpan } from './otlp-receiver.ts';
import { formatTrace } from './trace-format.ts';

export interface DemoTarget {
  edgeUrl: string;
  edgeAudit: string;
  coreAudit: string;
  spansFile: string;
  /** The calls the `tools` upstream logged (its --log-calls lines), newest last. */
  receivedCalls(): readonly ReceivedCall[];
  out(line: string): void;
}

const PII_TEXT = 'Invoice for jane.doe@example.com, call +1 415-555-2671 if it bounces.';
const RAW_VALUES = ['jane.doe@example.com', '415-555-2671'];
const TOKEN = /<[A-Z_]+_[0-9a-f]{16}>/;
const SEP = '__';
const PATHS: Record<string, string> = {
  tools: 'plain HTTP',
  'aws-tools': 'SigV4',
  'oauth-tools': 'OAuth 2.0',
  content: 'stdio child of the core',
};
const SERVICES = { edge: 'mcp-fed-edge', core: 'mcp-fed-core' };

export async function runDemo(t: DemoTarget): Promise<string[]> {
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    t.out(`  ${ok ? 'ok' : 'FAILED'}: ${what}`);
    if (!ok) failures.push(what);
  };
  const section = (title: string) => t.out(`\n== ${title} ==`);

  section(`Merged catalog at the edge (${t.edgeUrl})`);
  const [tools, prompts, resources] = await Promise.all([
    listAll(t.edgeUrl, 'tools/list', 'tools'),
    listAll(t.edgeUrl, 'prompts/list', 'prompts'),
    listAll(t.edgeUrl, 'resources/list', 'resources'),
  ]);
  t.out(`  ${tools.length} tools, ${prompts.length} prompts, ${resources.length} resources`);
  const byUpstream = new Map<string, string[]>();
  const add = (upstream: string, entry: string) =>
    byUpstream.set(upstream, [...(byUpstream.get(upstream) ?? []), entry]);
  for (const { name } of tools) {
    const [edgePrefix, upstream, ...rest] = String(name).split(SEP);
    if (edgePrefix === 'core' && upstream && rest.length > 0) add(upstream, rest.join(SEP));
  }
  for (const { name } of prompts) {
    const [, upstream, ...rest] = String(name).split(SEP);
    if (upstream) add(upstream, `prompt ${rest.join(SEP)}`);
  }
  const width = Math.max(...[...byUpstream.keys()].map((u) => `core${SEP}${u}${SEP}*`.length));
  for (const [upstream, names] of byUpstream) {
    t.out(
      `  ${`core${SEP}${upstream}${SEP}*`.padEnd(width)}  ${(PATHS[upstream] ?? '').padEnd(23)}  ${names.join(', ')}`,
    );
  }
  if (resources.length > 0) t.out(`  resources: ${resources.map((r) => String(r.uri)).join(', ')}`);
  check(
    Object.keys(PATHS).every((u) => byUpstream.has(u)),
    `the catalog holds every upstream of the core (${Object.keys(PATHS).join(', ')})`,
  );

  const requestId = `lab-demo-${randomBytes(4).toString('hex')}`;
  const tool = `core${SEP}tools${SEP}echo`;
  section(`A call with PII: edge → core → tools (request id ${requestId})`);
  const args = { text: PII_TEXT };
  t.out(`  caller sent:       ${tool} ${JSON.stringify(args)}`);
  const reply = await mcpRequest(
    t.edgeUrl,
    'tools/call',
    { name: tool, arguments: args },
    { requestId, name: tool },
  );
  const received = await eventually(() => t.receivedCalls().find((c) => c.requestId === requestId));
  const seen = received ? JSON.stringify(received.arguments) : '(nothing logged by the upstream)';
  t.out(`  upstream received: ${received?.tool ?? 'echo'} ${seen}`);
  const back = textOf(reply);
  t.out(`  caller got back:   ${JSON.stringify(back)}`);
  check(
    received !== undefined && TOKEN.test(seen) && RAW_VALUES.every((v) => !seen.includes(v)),
    'the upstream received tokens, not the email address and phone number',
  );
  check(back === PII_TEXT, 'the caller got the original text back (the core detokenized the result)');

  section(`Audit records of request ${requestId} (edge, then core)`);
  const records = await eventually(() => {
    const edge = auditRecord(t.edgeAudit, requestId);
    const core = auditRecord(t.coreAudit, requestId);
    return edge && core ? { edge, core } : undefined;
  });
  t.out(`  edge audit: ${records ? JSON.stringify(records.edge) : '(none)'}`);
  t.out(`  core audit: ${records ? JSON.stringify(records.core) : '(none)'}`);
  const traceId = typeof records?.edge.trace_id === 'string' ? records.edge.trace_id : undefined;
  check(
    records !== undefined && records.edge.request_id === records.core.request_id,
    'both proxies audited the call under one request id',
  );
  check(
    traceId !== undefined && records?.core.trace_id === traceId,
    'both audit records carry the same trace id',
  );

  section(`Trace of request ${requestId}`);
  t.out(`  trace id: ${traceId ?? '(none)'}`);
  const spans = traceId
    ? await eventually(() => {
        const mine = readSpans(t.spansFile).filter((s) => s.traceId === traceId);
        const services = new Set(mine.map((s) => s.service));
        return services.has(SERVICES.edge) && services.has(SERVICES.core) && mine.length >= 4
          ? mine
          : undefined;
      })
    : undefined;
  for (const line of formatTrace(spans ?? [])) t.out(line);
  check(spans !== undefined, `one trace with spans from both proxies (${SERVICES.edge}, ${SERVICES.core})`);
  t.out(`  (with docker compose the same trace is in Jaeger: http://localhost:16686/trace/${traceId ?? ''})`);

  section('The other paths');
  const others: [string, string, Record<string, unknown>, (text: string) => boolean][] = [
    [
      'SigV4',
      `core${SEP}aws-tools${SEP}echo`,
      { text: 'signed by the core' },
      (x) => x === 'signed by the core',
    ],
    ['OAuth 2.0', `core${SEP}oauth-tools${SEP}add`, { a: 2, b: 3 }, (x) => x === '5'],
    ['stdio', `core${SEP}content${SEP}bump`, {}, (x) => x.startsWith('counter=')],
    // The core's ACL denies tools__fail to the edge, so the core never lists it to the edge either.
    ['ACL (hidden by the core)', `core${SEP}tools${SEP}fail`, {}, (x) => x.includes('UNKNOWN_TOOL')],
  ];
  for (const [path, name, callArgs, ok] of others) {
    const r = await mcpRequest(t.edgeUrl, 'tools/call', { name, arguments: callArgs }, { name });
    const text = textOf(r);
    t.out(`  ${path.padEnd(24)} ${name} ${JSON.stringify(callArgs)} → ${text}`);
    if (!ok(text)) failures.push(`${path}: unexpected answer ${text}`);
  }
  t.out(failures.length === 0 ? '\ndemo: all checks passed' : `\ndemo: ${failures.length} check(s) failed`);
  return failures;
}

function auditRecord(path: string, requestId: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(requestId)) continue;
    const record = JSON.parse(line) as Record<string, unknown>;
    if (record.request_id === requestId) return record;
  }
  return undefined;
}

function readSpans(path: string): ReceivedSpan[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ReceivedSpan);
  } catch {
    return [];
  }
}

/** Polls until `fn` returns something (audit records and spans are written in batches), up to 10 s. */
async function eventually<T>(fn: () => T | undefined, ms = 10_000): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}
