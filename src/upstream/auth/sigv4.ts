import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SigV4AuthConfig } from '../../config/schema.ts';
import { AwsCredentialCache } from './aws-credentials.ts';
import { authFailed } from './errors.ts';
import type { OutgoingRequest, UpstreamAuth } from './types.ts';

export const DEFAULT_SIGV4_SERVICE = 'bedrock-agentcore';

export interface SigV4Options {
  credentials?: AwsCredentialCache;
  /** Clock for the signature date (tests). */
  now?: () => number;
  onBackgroundError?: (err: unknown) => void;
}

/**
 * AWS Signature Version 4 for AgentCore Gateway and Runtime (any AWS-hosted MCP endpoint): POSTs,
 * the GET that opens an SSE stream and DELETE. The payload hash covers the exact body written, and
 * `host` is signed as the HTTP clients send it (`url.host`) without being set by hand.
 *
 * The path is signed as it goes on the wire: a Runtime URL carries the agent ARN percent-encoded
 * once (`/runtimes/arn%3Aaws%3A...%2Fname/invocations`), and SigV4 for every service but S3 encodes
 * each path segment again in the canonical URI (`arn%253Aaws...`), which `uriEscapePath` does.
 *
 * Cheap on the hot path: one signer per upstream, credentials and the derived signing key cached,
 * the body hashed once with Node's native SHA-256, no `x-amz-content-sha256` header to compute.
 */
export class SigV4Auth implements UpstreamAuth {
  readonly kind = 'sigv4';
  private readonly signer: SignatureV4;
  private readonly credentials: AwsCredentialCache;
  private readonly now: () => number;

  constructor(
    private readonly upstream: string,
    config: Pick<SigV4AuthConfig, 'service' | 'region'>,
    options: SigV4Options = {},
  ) {
    this.now = options.now ?? Date.now;
    this.credentials =
      options.credentials ?? new AwsCredentialCache(undefined, undefined, options.onBackgroundError);
    this.signer = new SignatureV4({
      service: config.service || DEFAULT_SIGV4_SERVICE,
      region: config.region,
      credentials: async () => {
        try {
          return await this.credentials.get();
        } catch (err) {
          throw authFailed(this.upstream, `no AWS credentials available (${credentialFailure(err)})`);
        }
      },
      sha256: Hash.bind(null, 'sha256'),
      uriEscapePath: true,
      applyChecksum: false,
    });
  }

  async sign(req: OutgoingRequest): Promise<void> {
    const { url } = req;
    delete req.headers['x-amz-security-token'];
    const signed = await this.signer.sign(
      {
        method: req.method,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname,
        query: queryOf(url),
        headers: { ...req.headers, host: url.host },
        body: req.body === '' ? undefined : req.body,
      },
      { signingDate: new Date(this.now()) },
    );
    const out = signed.headers;
    req.headers.authorization = out.authorization!;
    req.headers['x-amz-date'] = out['x-amz-date']!;
    const token = out['x-amz-security-token'];
    if (token) req.headers['x-amz-security-token'] = token;
  }
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  if (url.search === '') return query;
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return query;
}

// The chain's own messages name the providers it tried; they never contain key material.
function credentialFailure(err: unknown): string {
  const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}

/**
 * The URL of an AgentCore Runtime invocation: the ARN goes into the path percent-encoded (its `:` and
 * `/` included), as AWS expects and SigV4 then signs double-encoded.
 */
export function agentCoreRuntimeUrl(arn: string, qualifier = 'DEFAULT'): string {
  const region = /^arn:aws[a-z-]*:bedrock-agentcore:([a-z0-9-]+):/.exec(arn)?.[1];
  if (!region) throw new Error('not an AgentCore Runtime ARN');
  return `https://bedrock-agentcore.${region}.amazonaws.com/runtimes/${encodeURIComponent(arn)}/invocations?qualifier=${encodeURIComponent(qualifier)}`;
}
