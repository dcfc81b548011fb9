import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as the receiver saw it (OTLP/JSON, flattened). */
export interface ReceivedSpan {
  service: string;
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, unknown>;
}

export const SPAN_KIND = { server: 2, client: 3 } as const;

/** OTLP/JSON ids are hex; a base64 id (some encoders) is turned into hex. */
function hexId(id: unknown, bytes: number): string {
  if (typeof id !== 'string' || id === '') return '';
  if (id.length === bytes * 2 && /^[0-9a-f]+$/i.test(id)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

function flatten(attrs: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attrs ?? []) {
    const v = a.value;
    out[a.key] =
      v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
  }
  return out;
}

/** The spans of one OTLP/JSON `ExportTraceServiceRequest` body. */
export function spansOf(body: {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: Record<string, unknown>[] }[];
  }[];
}): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(flatten(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          service,
          name: String(s.name),
          kind: Number(s.kind),
          traceId: hexId(s.traceId, 16),
          spanId: hexId(s.spanId, 8),
          parentSpanId: hexId(s.parentSpanId, 8),
          attributes: flatten(s.attributes as KeyValue[] | undefined),
        });
      }
    }
  }
  return spans;
}

export interface OtlpReceiverOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Called with the spans of every accepted export request. */
  onSpans?: (spans: ReceivedSpan[]) => void;
  /** Keep every span in `spans` (default true; a long-running viewer that streams them out does not). */
  keep?: boolean;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  contentTypes: string[];
  close(): Promise<void>;
}

/**
 * A real OTLP/HTTP receiver: `POST /v1/traces` with JSON bodies; every span received is kept.
 * `GET /healthz` answers 200 (the lab's readiness probe). The tests and the lab's trace viewer use it.
 */
export async function startOtlpReceiver(opts: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(String(req.headers['content-type']));
      let received: ReceivedSpan[];
      try {
        received = spansOf(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        res.writeHead(400).end();
        return;
      }
      if (opts.keep !== false) spans.push(...received);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      opts.onSpans?.(received);
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
