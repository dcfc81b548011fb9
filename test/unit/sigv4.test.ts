import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AwsCredentialCache, type AwsCredentials } from '../../src/upstream/auth/aws-credentials.ts';
import type { OutgoingRequest } from '../../src/upstream/auth/index.ts';
import { agentCoreRuntimeUrl, SigV4Auth } from '../../src/upstream/auth/sigv4.ts';
import { verifySigV4 } from '../../upstreams/lib/sigv4-verifier.ts';

const ARN = 'arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/mcp_fed_agent-AbC123xYz';
const KEYS: AwsCredentials = { accessKeyId: 'AKIDUNITTEST', secretAccessKey: 'unit/test+secret/KEY' };
const AT = Date.UTC(2026, 6, 28, 12, 34, 56);

function signer(creds: AwsCredentials = KEYS, region = 'us-east-1', service = 'bedrock-agentcore') {
  return new SigV4Auth(
    'u',
    { region, service },
    { credentials: new AwsCredentialCache(async () => creds), now: () => AT },
  );
}

async function signed(
  url: string,
  method = 'POST',
  body = '',
  headers: Record<string, string> = {},
  s = signer(),
) {
  const req: OutgoingRequest = { method, url: new URL(url), headers: { ...headers }, body };
  await s.sign(req);
  return req;
}

/** The server's view of `req`, as node:http would hand it over. */
function received(req: OutgoingRequest, body = req.body) {
  const u = req.url;
  return {
    method: req.method,
    target: `${u.pathname}${u.search}`,
    headers: { ...req.headers, host: u.host } as Record<string, string>,
    body: Buffer.from(body),
  };
}

const verifyWith = (creds: AwsCredentials & { sessionToken?: string }, region = 'us-east-1', now = AT) => ({
  region,
  service: 'bedrock-agentcore',
  lookup: (id: string) => (id === creds.accessKeyId ? creds : undefined),
  now: () => now,
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();

describe('SigV4 signing', () => {
  it('matches the AWS test suite vector get-vanilla', async () => {
    const s = new SigV4Auth(
      'u',
      { region: 'us-east-1', service: 'service' },
      {
        credentials: new AwsCredentialCache(async () => ({
          accessKeyId: 'AKIDEXAMPLE',
          secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        })),
        now: () => Date.UTC(2015, 7, 30, 12, 36, 0),
      },
    );
    const req = await signed('https://example.amazonaws.com/', 'GET', '', {}, s);
    expect(req.headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        'SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
    expect(req.headers['x-amz-date']).toBe('20150830T123600Z');
  });

  it('puts the Runtime ARN in the path once-encoded and signs it double-encoded', async () => {
    const url = agentCoreRuntimeUrl(ARN);
    expect(url).toBe(
      'https://bedrock-agentcore.us-east-1.amazonaws.com/runtimes/' +
        'arn%3Aaws%3Abedrock-agentcore%3Aus-east-1%3A123456789012%3Aruntime%2Fmcp_fed_agent-AbC123xYz' +
        '/invocations?qualifier=DEFAULT',
    );
    const body = '{"jsonrpc":"2.0","id":1,"method":"tools/list"}';
    const req = await signed(url, 'POST', body, { 'content-type': 'application/json' });

    // The canonical request written out by hand from the SigV4 spec (non-S3: each segment encoded again).
    const canonical = [
      'POST',
      '/runtimes/arn%253Aaws%253Abedrock-agentcore%253Aus-east-1%253A123456789012%253Aruntime%252Fmcp_fed_agent-AbC123xYz/invocations',
      'qualifier=DEFAULT',
      'content-type:application/json',
      'host:bedrock-agentcore.us-east-1.amazonaws.com',
      'x-amz-date:20260728T123456Z',
      '',
      'content-type;host;x-amz-date',
      sha256(body),
    ].join('\n');
    const scope = '20260728/us-east-1/bedrock-agentcore/aws4_request';
    const toSign = ['AWS4-HMAC-SHA256', '20260728T123456Z', scope, sha256(canonical)].join('\n');
    let key = hmac(`AWS4${KEYS.secretAccessKey}`, '20260728');
    for (const part of ['us-east-1', 'bedrock-agentcore', 'aws4_request']) key = hmac(key, part);
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    expect(req.headers.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=AKIDUNITTEST/${scope}, SignedHeaders=content-type;host;x-amz-date, Signature=${signature}`,
    );
    // The independent implementation (aws4) agrees.
    expect(verifySigV4(received(req), verifyWith(KEYS))).toEqual({ ok: true, accessKeyId: 'AKIDUNITTEST' });
  });

  it('signs a Gateway URL, GET and DELETE with the empty payload hash, and extra headers', async () => {
    const gw = 'https://mygw-abc123.gateway.bedrock-agentcore.us-east-1.amazonaws.com/mcp';
    for (const method of ['GET', 'DELETE', 'POST']) {
      const req = await signed(gw, method, method === 'POST' ? '{"a":1}' : '', {
        accept: 'text/event-stream',
        'mcp-session-id': 'abc',
        'mcp-protocol-version': '2025-11-25',
      });
      expect(req.headers.authorization).toContain(
        'SignedHeaders=accept;host;mcp-protocol-version;mcp-session-id;x-amz-date,',
      );
      expect(verifySigV4(received(req), verifyWith(KEYS)).ok).toBe(true);
    }
  });

  it('is rejected by the verifier for a tampered body, another region, a stale date or a changed header', async () => {
    const url = 'http://127.0.0.1:8080/mcp';
    const req = await signed(url, 'POST', '{"text":"hello"}', { 'mcp-method': 'tools/call' });
    expect(verifySigV4(received(req, '{"text":"hellp"}'), verifyWith(KEYS))).toMatchObject({
      ok: false,
      reason: 'signature does not match',
    });
    expect(verifySigV4(received(req), verifyWith(KEYS, 'eu-west-1'))).toMatchObject({ ok: false });
    expect(verifySigV4(received(req), verifyWith(KEYS, 'us-east-1', AT + 6 * 60_000))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('expired'),
    });
    const changed = received(req);
    changed.headers['mcp-method'] = 'tools/list';
    expect(verifySigV4(changed, verifyWith(KEYS)).ok).toBe(false);
    const wrongKey = await signed(url, 'POST', '{}', {}, signer({ ...KEYS, secretAccessKey: 'other' }));
    expect(verifySigV4(received(wrongKey), verifyWith(KEYS)).ok).toBe(false);
  });

  it('sends and signs the session token of temporary credentials', async () => {
    const temp = {
      accessKeyId: 'ASIATEMP',
      secretAccessKey: 'temp-secret',
      sessionToken: 'the-session-token',
    };
    const req = await signed('http://127.0.0.1:1/mcp', 'POST', '{}', {}, signer(temp));
    expect(req.headers['x-amz-security-token']).toBe('the-session-token');
    expect(req.headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
    expect(verifySigV4(received(req), verifyWith(temp)).ok).toBe(true);
    const stripped = received(req);
    delete stripped.headers['x-amz-security-token'];
    expect(verifySigV4(stripped, verifyWith(temp)).ok).toBe(false);
  });

  it('keeps port and query in what it signs', async () => {
    const req = await signed('http://127.0.0.1:4321/runtimes/x%2Fy/invocations?b=2&a=1&a=0', 'POST', '{}');
    expect(verifySigV4(received(req), verifyWith(KEYS)).ok).toBe(true);
  });
});

describe('AWS credential cache', () => {
  it('refreshes ahead of expiry in the background, one fetch for concurrent callers', async () => {
    let t = 0;
    let fetches = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const cache = new AwsCredentialCache(
      async () => {
        fetches++;
        if (fetches > 1) await gate;
        return { accessKeyId: `K${fetches}`, secretAccessKey: 's', expiration: new Date(t + 100_000) };
      },
      () => t,
    );
    expect(await Promise.all([cache.get(), cache.get(), cache.get()])).toHaveLength(3);
    expect(fetches).toBe(1);
    t = 40_000; // before the refresh point (half the lifetime of 100 s)
    expect((cache.get() as AwsCredentials).accessKeyId).toBe('K1');
    t = 60_000; // inside the refresh window: the old credentials still sign while one refresh runs
    expect((cache.get() as AwsCredentials).accessKeyId).toBe('K1');
    expect((cache.get() as AwsCredentials).accessKeyId).toBe('K1');
    expect(fetches).toBe(2);
    release();
    await new Promise((r) => setTimeout(r, 0));
    expect((cache.get() as AwsCredentials).accessKeyId).toBe('K2');
  });

  it('waits for new credentials once the current ones are about to expire', async () => {
    let t = 0;
    let n = 0;
    const cache = new AwsCredentialCache(
      async () => ({ accessKeyId: `K${++n}`, secretAccessKey: 's', expiration: new Date(t + 10_000) }),
      () => t,
    );
    await cache.get();
    t = 9_500;
    const next = cache.get();
    expect(next).toBeInstanceOf(Promise);
    expect((await next).accessKeyId).toBe('K2');
  });

  it('never refreshes credentials without an expiration, and reports a failing chain', async () => {
    let n = 0;
    const cache = new AwsCredentialCache(async () => ({ accessKeyId: `K${++n}`, secretAccessKey: 's' }));
    await cache.get();
    await cache.get();
    expect(n).toBe(1);
    const failing = new AwsCredentialCache(async () => {
      throw new Error('Could not load credentials from any providers');
    });
    const s = new SigV4Auth(
      'up',
      { region: 'us-east-1', service: 'bedrock-agentcore' },
      { credentials: failing },
    );
    await expect(signed('http://127.0.0.1:1/mcp', 'POST', '{}', {}, s)).rejects.toMatchObject({
      code: 'UPSTREAM_AUTH_FAILED',
      message: 'upstream "up": no AWS credentials available (Could not load credentials from any providers)',
    });
  });
});
