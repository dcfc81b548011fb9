import { readFileSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MODERN, modernRequest, type RawReply, rawPost } from './federation.ts';

/** The audit record's fields before the chain seals it, exactly and in order (DESIGN.md, "Audit record"). */
export const AUDIT_RECORD_FIELDS = [
  'request_id',
  'timestamp',
  'caller_identity',
  'tool_name',
  'upstream',
  'upstream_tool',
  'pre_transform_hash',
  'latency_ms',
  'upstream_latency_ms',
  'added_latency_ms',
  'upstream_status',
  'result_status',
  'policy_decision',
  'redaction_tokens_ids',
  'trace_id',
  'hops',
  'config_version',
  'upstream_identity',
];

/** A line of the audit file: the record, then its chain members (no Cedar, no hook). */
export const AUDIT_FIELD_ORDER = [...AUDIT_RECORD_FIELDS, 'prev_hash', 'hash'];

/** The same, sorted, to compare with the keys of a parsed record. */
export const AUDIT_FIELDS = [...AUDIT_FIELD_ORDER].sort();

export type AuditLine = Record<string, unknown>;

/** Every call record of a JSON Lines audit file ([] when it does not exist yet); segment records left out. */
export function readAudit(path: string): AuditLine[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditLine)
    .filter((r) => r.segment_start !== true);
}

/** A 2026-07-28 SDK client sending the given headers (credentials) on every request. */
export async function modernClientWith(url: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client(
    { name: 'test-governance', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: MODERN } } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

/** A 2025-era (SDK v1) client sending the given headers; `transport.sessionId` is its session. */
export async function legacyClientWith(url: string, headers: Record<string, string>) {
  const client = new V1Client({ name: 'test-governance-legacy', version: '1.0.0' }, { capabilities: {} });
  const transport = new V1Transport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  return { client, transport };
}

/** One raw modern call (tools/call, prompts/get, resources/read) with extra headers. */
export async function rawCall(
  url: string,
  method: 'tools/call' | 'prompts/get' | 'resources/read',
  params: Record<string, unknown>,
  headers: Record<string, string> = {},
  id: number | string = 1,
): Promise<RawReply> {
  const name = method === 'resources/read' ? String(params.uri) : String(params.name);
  const req = modernRequest(method, params, id as number, name);
  return rawPost(url, req.body, { ...req.headers, ...headers });
}

/** One field of every entry of a list, sorted. */
export const pluck = <K extends 'name' | 'uri' | 'uriTemplate'>(items: { [k in K]?: string }[], key: K) =>
  items.map((i) => i[key] ?? '').sort();
