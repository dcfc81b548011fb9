/**
 * A bare 2026-07-28 MCP client for the lab demo: one POST per request, no session, the `_meta` envelope
 * and the `Mcp-Method` / `Mcp-Name` headers the revision asks for, and an `x-request-id` of our choosing
 * so the demo can find the call again in the audit files, the upstream's log and the traces.
 */
const MODERN = '2026-07-28';

export interface McpReply {
  status: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

let nextId = 1;

export async function mcpRequest(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  opts: { requestId?: string; name?: string } = {},
): Promise<McpReply> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(opts.name !== undefined && { 'mcp-name': opts.name }),
    ...(opts.requestId !== undefined && { 'x-request-id': opts.requestId }),
  };
  const body = {
    jsonrpc: '2.0',
    id: nextId++,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': MODERN,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/clientInfo': { name: 'mcp-fed-lab-demo', version: '1.0.0' },
      },
    },
  };
  const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  // JSON, or SSE whose last `data:` line is the response.
  const data = text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .pop();
  try {
    const json = JSON.parse(data ? data.slice(6) : text) as Omit<McpReply, 'status'>;
    return { status: res.status, result: json.result, error: json.error };
  } catch {
    return { status: res.status, error: { code: 0, message: `HTTP ${res.status}: ${text.slice(0, 200)}` } };
  }
}

/** Every page of a list method (`tools/list` → `tools`). */
export async function listAll(url: string, method: string, key: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const reply = await mcpRequest(url, method, cursor === undefined ? {} : { cursor });
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    items.push(...((reply.result?.[key] as Record<string, unknown>[] | undefined) ?? []));
    cursor = reply.result?.nextCursor as string | undefined;
    if (cursor === undefined) break;
  }
  return items;
}

/** The text of a tool result's content (or the error), for printing. */
export function textOf(reply: McpReply): string {
  if (reply.error)
    return `error ${reply.error.code} ${String(reply.error.data?.code ?? '')}: ${reply.error.message}`;
  const content = (reply.result?.content as { type: string; text?: string }[] | undefined) ?? [];
  return content.map((c) => c.text ?? `[${c.type}]`).join(' ');
}
