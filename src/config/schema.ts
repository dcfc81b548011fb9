import { z } from 'zod';

// Checks that must report even when a sibling field is already wrong, so one `check` run lists every problem.
const ALWAYS = { when: () => true };
type Loose = Record<string, unknown>;
type Report = (path: PropertyKey[], message: string) => void;
const crossCheck = (fn: (value: Loose, report: Report) => void) =>
  z.superRefine(
    (value: Loose, ctx) => fn(value, (path, message) => ctx.addIssue({ code: 'custom', path, message })),
    ALWAYS,
  );

// Numbers and booleans may come from `${ENV}`, which always yields a string.
const fromEnvNumber = (v: unknown) =>
  typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
const fromEnvBoolean = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(fromEnvNumber, z.int().min(min).max(max));
const bool = () => z.preprocess(fromEnvBoolean, z.boolean());
const text = () => z.string().min(1);
const httpUrl = () => z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
const globs = () => z.array(text());
const stringMap = () => z.record(z.string(), z.string());
const secret = () => z.string().min(16, { error: 'must be at least 16 characters' });
const redisUrl = () => z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' });

const isOrigin = (s: string) => {
  try {
    return new URL(s).origin === s;
  } catch {
    return false;
  }
};

export const NAME_PATTERN = /^[A-Za-z0-9-]+$/;
// biome-ignore format: one line reads better than seven
export const PII_ENTITIES = ['EMAIL', 'PHONE', 'CREDIT_CARD', 'SSN', 'IBAN', 'IP_ADDRESS', 'AWS_ACCESS_KEY'] as const;

const ListenSchema = z.strictObject({
  host: text().default('127.0.0.1').describe('Interface to bind'),
  port: int(0, 65535).default(8000).describe('TCP port; 0 picks a free one'),
  path: z
    .string()
    .regex(/^\/[^\s?#]*$/, { error: 'must be a path starting with /' })
    .default('/mcp')
    .describe('HTTP path of the MCP endpoint'),
});

const RedisStoreSchema = z
  .strictObject({
    kind: z.literal('redis'),
    url: redisUrl().optional().describe('Single Redis server'),
    cluster: z.array(redisUrl()).min(1).optional().describe('Redis Cluster seed nodes'),
    sentinels: z.array(redisUrl()).min(1).optional().describe('Redis Sentinel nodes (with `name`)'),
    name: text().optional().describe('Sentinel master name'),
    keyPrefix: z.string().default('mcp-fed:').describe('Prefix of every key'),
  })
  .check(
    crossCheck((s, report) => {
      const modes = (['url', 'cluster', 'sentinels'] as const).filter((k) => s[k] !== undefined);
      if (modes.length !== 1) report([], 'needs exactly one of url, cluster, sentinels');
      if (s.sentinels !== undefined && s.name === undefined) report(['name'], 'required with sentinels');
      if (s.sentinels === undefined && s.name !== undefined) report(['name'], 'only used with sentinels');
    }),
  );

const StoreSchema = z
  .discriminatedUnion('kind', [z.strictObject({ kind: z.literal('memory') }), RedisStoreSchema])
  .describe('Where sessions, the PII vault and rate-limit counters live');

const ApiKeysAuthSchema = z
  .strictObject({
    kind: z.literal('apiKeys'),
    keys: z
      .array(
        z.strictObject({
          key: text().describe('Secret sent as `Authorization: Bearer <key>` or `x-api-key`'),
          caller: text().describe('Caller identity for ACL, rate limits and audit'),
          groups: z.array(text()).default([]).describe('Groups, matched by ACL rules as `group:<name>`'),
        }),
      )
      .min(1)
      .describe('Accepted API keys'),
    trustedProxies: z
      .array(text())
      .default([])
      .describe(
        'Callers (ids or `group:<name>`) that may assert another caller (`chain.assertCaller`); needs `secrets.assertionKey`',
      ),
  })
  .check(
    crossCheck((a, report) => {
      const seen = new Set<unknown>();
      (Array.isArray(a.keys) ? a.keys : []).forEach((k: Loose, i) => {
        if (seen.has(k?.key)) report(['keys', i, 'key'], 'duplicate key');
        seen.add(k?.key);
      });
    }),
  );

const JwtInboundSchema = z.strictObject({
  kind: z.literal('jwt'),
  issuer: text().describe('Expected `iss`'),
  audience: text().describe('Expected `aud` (this proxy’s resource URL)'),
  jwksUri: httpUrl().describe('JWKS location'),
  groupsClaim: text().default('groups').describe('Claim that lists the caller’s groups'),
  trustedProxies: z
    .array(text())
    .default([])
    .describe(
      'Callers (`sub`/`client_id` or `group:<name>`) that may assert another caller; needs `secrets.assertionKey`',
    ),
});

const InboundAuthSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  ApiKeysAuthSchema,
  JwtInboundSchema,
]);

const AdminSchema = z
  .strictObject({
    enabled: bool().default(false).describe('Serve the /admin status page and /admin/api'),
    auth: z
      .discriminatedUnion('kind', [ApiKeysAuthSchema, JwtInboundSchema])
      .optional()
      .describe('Who may see /admin: apiKeys or jwt (never none); keys of their own, not inbound callers’'),
  })
  .check(
    crossCheck((a, report) => {
      if (a.enabled === true && a.auth === undefined) report(['auth'], 'required when admin.enabled is true');
    }),
  );

const clientAuthMethod = () =>
  z
    .enum(['client_secret_basic', 'client_secret_post'])
    .default('client_secret_basic')
    .describe('How the client authenticates to the token endpoint');

// The token endpoint is named, or found by discovery on the issuer: exactly one of the two.
function tokenUrlOrIssuer(a: Loose, report: Report) {
  if ((a.tokenUrl === undefined) === (a.issuer === undefined))
    report([], a.issuer === undefined ? 'tokenUrl or issuer required' : 'use tokenUrl or issuer, not both');
}

const OAuth2Schema = z
  .strictObject({
    kind: z.literal('oauth2'),
    tokenUrl: httpUrl().optional().describe('Token endpoint (or `issuer`)'),
    issuer: httpUrl().optional().describe('Issuer for discovery of the token endpoint (or `tokenUrl`)'),
    clientId: text().describe('Client credentials grant: client id'),
    clientSecret: text().describe('Client secret; keep it in the environment'),
    scope: text().optional().describe('Space-separated scopes to request'),
    audience: text().optional().describe('`audience` token request parameter'),
    resource: text().optional().describe('RFC 8707 resource indicator'),
    authMethod: clientAuthMethod(),
  })
  .check(crossCheck(tokenUrlOrIssuer));

const ServiceAuthSchemas = [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({
    kind: z.literal('headers'),
    headers: stringMap().describe('Static headers sent upstream'),
  }),
  z.strictObject({
    kind: z.literal('sigv4'),
    service: text().default('bedrock-agentcore').describe('SigV4 signing service'),
    region: text().describe('AWS region; when omitted, AWS_REGION at load time'),
  }),
  OAuth2Schema,
] as const;
const ServiceAuthSchema = z.discriminatedUnion('kind', [...ServiceAuthSchemas]);

const TokenExchangeSchema = z
  .strictObject({
    kind: z.literal('tokenExchange'),
    tokenUrl: httpUrl().optional().describe('Token endpoint (or `issuer`)'),
    issuer: httpUrl().optional().describe('Issuer for discovery of the token endpoint (or `tokenUrl`)'),
    clientId: text().describe('The proxy’s client id at the authorization server'),
    clientSecret: text().describe('Client secret; keep it in the environment'),
    audience: text().optional().describe('`audience` of the exchanged token (RFC 8693)'),
    resource: text().optional().describe('`resource` of the exchanged token (RFC 8707)'),
    scope: text().optional().describe('Space-separated scopes to request'),
    subjectTokenType: text()
      .default('urn:ietf:params:oauth:token-type:access_token')
      .describe('`subject_token_type` of the caller’s token'),
    authMethod: clientAuthMethod(),
  })
  .check(
    crossCheck((a, report) => {
      tokenUrlOrIssuer(a, report);
      if (a.audience === undefined && a.resource === undefined)
        report([], 'audience or resource required: the token must be issued for this upstream');
    }),
  );

const UserOAuthSchema = z
  .strictObject({
    kind: z.literal('userOAuth'),
    issuer: httpUrl().describe('Authorization server (OpenID Connect discovery; `iss` checked)'),
    clientId: text().describe('The proxy’s client id at the authorization server'),
    clientSecret: text().describe('Client secret; keep it in the environment'),
    scope: text().default('openid').describe('Scopes to ask the user for (`openid` is always added)'),
    resource: text().optional().describe('RFC 8707 resource indicator of the upstream'),
    audience: text().optional().describe('`audience` authorization request parameter'),
    redirectUrl: httpUrl().describe('This proxy’s public `/oauth/callback` URL, registered at the server'),
    authMethod: clientAuthMethod(),
  })
  .check(
    crossCheck((a, report) => {
      if (typeof a.redirectUrl === 'string' && !/\/oauth\/callback$/.test(new URL(a.redirectUrl).pathname))
        report(['redirectUrl'], 'must end in /oauth/callback (the proxy serves it there)');
    }),
  );

const UpstreamAuthSchema = z.discriminatedUnion('kind', [
  ...ServiceAuthSchemas,
  TokenExchangeSchema,
  UserOAuthSchema,
]);
/** The auth kinds that act for the caller (DESIGN.md, "Acting for the caller"). */
export const PER_CALLER_AUTH = ['tokenExchange', 'userOAuth'] as const;

const ExposeSchema = z.strictObject({
  tools: globs().default(['*']).describe('Globs on upstream tool names'),
  prompts: globs().default(['*']).describe('Globs on upstream prompt names'),
  resources: globs().default(['*']).describe('Globs on upstream resource URIs'),
  exclude: globs().default([]).describe('Globs removed from all three'),
});

const UPSTREAM_ONLY_HTTP = ['url', 'headers'] as const;
const UPSTREAM_ONLY_STDIO = ['command', 'env', 'cwd', 'isolation'] as const;
const resolveTransport = (u: Loose) => u.transport ?? (u.command !== undefined ? 'stdio' : 'streamable-http');

const UpstreamObject = z
  .strictObject({
    name: z.string().regex(NAME_PATTERN, { error: 'must match [A-Za-z0-9-]+' }).describe('Unique name'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9-]*$/, { error: 'must match [A-Za-z0-9-]*' })
      .optional()
      .describe('Public name prefix; defaults to `name`; "" passes names unchanged'),
    transport: z
      .enum(['streamable-http', 'sse', 'stdio'])
      .optional()
      .describe('Defaults to stdio when `command` is set, else streamable-http'),
    url: httpUrl().optional().describe('Endpoint (http transports)'),
    headers: stringMap().optional().describe('Extra static headers (http transports)'),
    command: z.array(text()).min(1).optional().describe('Program and arguments (stdio)'),
    env: stringMap().optional().describe('Extra environment of the child (stdio)'),
    cwd: text().optional().describe('Working directory of the child (stdio)'),
    isolation: z
      .enum(['shared', 'per-session'])
      .optional()
      .describe('stdio: one child per process (shared, default) or per downstream session'),
    auth: UpstreamAuthSchema.prefault({ kind: 'none' }).describe('How the proxy authenticates upstream'),
    catalogAuth: ServiceAuthSchema.optional().describe(
      'With tokenExchange / userOAuth: the proxy’s own identity for listing (a service kind)',
    ),
    timeoutMs: int(1).default(60000).describe('Per-request timeout'),
    required: bool().default(false).describe('/readyz waits for this upstream only when true'),
    catalogRefreshSeconds: int(0)
      .default(300)
      .describe('Periodic re-list for upstreams that never send list_changed; 0 turns it off'),
    expose: ExposeSchema.prefault({}).describe('Trims the catalog for every caller'),
  })
  .check(
    crossCheck((u, report) => {
      const stdio = resolveTransport(u) === 'stdio';
      if (u[stdio ? 'command' : 'url'] === undefined) report([stdio ? 'command' : 'url'], 'required');
      for (const key of stdio ? UPSTREAM_ONLY_HTTP : UPSTREAM_ONLY_STDIO)
        if (u[key] !== undefined)
          report([key], stdio ? 'only for transports streamable-http and sse' : 'only for transport stdio');
      const kind = (u.auth as Loose | undefined)?.kind;
      if (stdio && kind !== undefined && kind !== 'none')
        report(['auth', 'kind'], 'stdio takes no auth; use env');
      const perCaller = (PER_CALLER_AUTH as readonly unknown[]).includes(kind);
      if (perCaller && u.catalogAuth === undefined)
        report(['catalogAuth'], `required with auth kind ${kind}: the proxy lists the catalog as itself`);
      if (!perCaller && u.catalogAuth !== undefined)
        report(['catalogAuth'], 'only with auth kind tokenExchange or userOAuth');
      if (perCaller && !stdio && resolveTransport(u) !== 'streamable-http')
        report(['auth', 'kind'], `${kind} needs transport streamable-http (each call carries its own token)`);
    }),
  );

type UpstreamFields = z.output<typeof UpstreamObject>;
type UpstreamCommon = Omit<
  UpstreamFields,
  'url' | 'headers' | 'prefix' | (typeof UPSTREAM_ONLY_STDIO)[number]
> & {
  prefix: string;
  /** Always `{}` for stdio, so fetch wiring needs no transport check. */
  headers: Record<string, string>;
};
export type HttpUpstreamConfig = UpstreamCommon & { transport: 'streamable-http' | 'sse'; url: string };
export type StdioUpstreamConfig = UpstreamCommon & {
  transport: 'stdio';
  command: [string, ...string[]];
  env: Record<string, string>;
  cwd?: string;
  isolation: 'shared' | 'per-session';
};
export type UpstreamConfig = HttpUpstreamConfig | StdioUpstreamConfig;

// Only runs on a valid upstream, so the fields the refinement above requires are present.
const toUpstream = (u: UpstreamFields): UpstreamConfig => {
  const { url, headers, command, env, cwd, isolation, transport, ...rest } = u;
  const common = { ...rest, prefix: rest.prefix ?? rest.name, headers: headers ?? {} };
  if (resolveTransport(u) !== 'stdio')
    return { ...common, transport: transport === 'sse' ? 'sse' : 'streamable-http', url: url ?? '' };
  const argv = command as [string, ...string[]];
  return {
    ...common,
    transport: 'stdio',
    command: argv,
    env: env ?? {},
    cwd,
    isolation: isolation ?? 'shared',
  };
};

const UpstreamSchema = UpstreamObject.transform(toUpstream);

const PoliciesSchema = z.strictObject({
  acl: z
    .array(
      z
        .strictObject({
          callers: z.array(text()).min(1).describe('Caller ids, `group:<name>` or `*`'),
          allow: globs().optional().describe('Globs on public names (resources: URIs)'),
          deny: globs().optional().describe('Checked before allow'),
        })
        .check(
          crossCheck((r, report) => {
            if (r.allow === undefined && r.deny === undefined) report([], 'needs allow or deny');
          }),
        ),
    )
    .default([])
    .describe('First rule that matches decides; once any rule exists, no decision means deny'),
  rateLimits: z
    .array(
      z.strictObject({
        callers: z.array(text()).min(1).default(['*']).describe('Caller ids, `group:<name>` or `*`'),
        tools: globs().min(1).default(['*']).describe('Globs on public tool names'),
        perMinute: int(1).describe('Calls per minute per (caller, tool), sliding window'),
      }),
    )
    .default([])
    .describe('Every matching rule applies; one bucket per (caller, public tool) per rule'),
  cedar: z
    .strictObject({
      policies: text().optional().describe('Cedar policy file (relative to the config file)'),
      inline: text().optional().describe('Cedar policies in the config itself'),
      schema: text()
        .optional()
        .describe('Cedar schema file (Cedar or JSON syntax): `check` validates against it'),
    })
    .check(
      crossCheck((c, report) => {
        if ((c.policies === undefined) === (c.inline === undefined))
          report([], 'needs policies or inline (one of them)');
      }),
    )
    .optional()
    .describe('Cedar policies, evaluated after the glob ACL allows; both must allow'),
});

export const HOOK_METHODS = ['tools/call', 'prompts/get', 'resources/read'] as const;

const HookSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, { error: 'must be 1-64 of [A-Za-z0-9_.-]' })
      .describe('Names the hook in metrics, the audit record and errors'),
    module: text()
      .optional()
      .describe('ES module (.js/.mjs, relative to the config file) exporting before/after'),
    url: httpUrl().optional().describe('Remote hook: the proxy POSTs the hook JSON here'),
    headers: stringMap()
      .default({})
      .describe('Sent to a remote hook with every request (e.g. its credential)'),
    timeoutMs: int(1, 60_000).default(1000).describe('An answer later than this is a hook failure'),
    onError: z
      .enum(['reject', 'pass'])
      .default('reject')
      .describe('A hook that throws, times out or answers badly: reject (HOOK_FAILED) or pass'),
    phases: z
      .array(z.enum(['before', 'after']))
      .min(1)
      .default(['before', 'after'])
      .describe('The phases it takes part in (a remote hook that only checks calls saves a round trip)'),
    sees: z
      .enum(['tokens', 'raw'])
      .default('tokens')
      .describe('PII as tokens and masks (default), or raw values (module hooks only)'),
    match: z
      .strictObject({
        methods: z.array(z.enum(HOOK_METHODS)).min(1).optional().describe('Methods it sees'),
        tools: globs().min(1).optional().describe('Globs on public tool/prompt names and resource URIs'),
        upstreams: globs().min(1).optional().describe('Globs on upstream names'),
      })
      .optional()
      .describe('Which calls it sees; every governed call when absent'),
  })
  .check(
    crossCheck((h, report) => {
      if ((h.module === undefined) === (h.url === undefined)) report([], 'needs module or url (one of them)');
      if (h.url !== undefined && h.sees === 'raw') report(['sees'], 'raw is for module hooks only');
      if (typeof h.module === 'string' && !/\.(m?js)$/.test(h.module))
        report(['module'], 'must be an ES module file (.js or .mjs)');
    }),
  );

const PiiSchema = z.strictObject({
  mode: z
    .enum(['off', 'tokenize', 'redact', 'block'])
    .default('off')
    .describe('What happens to PII in arguments'),
  entities: z
    .array(z.enum(PII_ENTITIES))
    .default([...PII_ENTITIES])
    .describe('Entity types to detect'),
  detokenizeResponses: bool().default(true).describe('Replace tokens in results with the original values'),
  responses: z
    .enum(['mask', 'tokenize', 'off'])
    .default('mask')
    .describe('PII that originates upstream (only when mode is not off)'),
  tokenTtlSeconds: int(1).default(86400).describe('Lifetime of a token in the vault'),
});

const AuditSchema = z.discriminatedUnion('sink', [
  z.strictObject({ sink: z.literal('stdout') }),
  z.strictObject({ sink: z.literal('file'), path: text().describe('JSON Lines file, appended') }),
  z.strictObject({ sink: z.literal('off') }),
]);

export const ConfigSchema = z
  .strictObject({
    listen: ListenSchema.prefault({}),
    store: StoreSchema.prefault({ kind: 'memory' }),
    namespace: z
      .strictObject({
        separator: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/, { error: 'must be 1 or more of [A-Za-z0-9_.-]' })
          .default('__')
          .describe('Between prefix and name in public names'),
        maxLength: int(32, 128).default(64).describe('Longer public names are shortened with a stable hash'),
      })
      .prefault({}),
    inbound: z
      .strictObject({
        auth: InboundAuthSchema.prefault({ kind: 'none' }).describe('Who the caller is; none = "anonymous"'),
      })
      .prefault({}),
    upstreams: z.array(UpstreamSchema).default([]).describe('The MCP servers federated behind the proxy'),
    policies: PoliciesSchema.prefault({}),
    pii: PiiSchema.prefault({}),
    admin: AdminSchema.prefault({}).describe('The operator status page'),
    hooks: z
      .array(HookSchema)
      .default([])
      .superRefine((hooks, ctx) => {
        const seen = new Set<string>();
        hooks.forEach((h, i) => {
          if (seen.has(h.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `hook "${h.name}" is listed twice` });
          seen.add(h.name);
        });
      })
      .describe('Your own pre/post hooks, run in this order on the way up (reverse on the way down)'),
    audit: AuditSchema.prefault({ sink: 'stdout' }).describe(
      'Where audit records go, one JSON object a line',
    ),
    telemetry: z
      .strictObject({
        serviceName: text().default('mcp-fed').describe('`service.name` of traces'),
        otlpEndpoint: httpUrl()
          .optional()
          .describe('OTLP/HTTP base URL; /v1/traces is appended; unset = no tracing'),
      })
      .prefault({}),
    chain: z
      .strictObject({
        maxHops: int(1, 64).default(8).describe('Requests that crossed more proxies fail with HOP_LIMIT'),
        assertCaller: z
          .union([bool(), z.array(text()).min(1)])
          .default(false)
          .describe(
            'Tell upstream proxies who the caller is (signed, 60 s, needs `secrets.assertionKey`): true = every upstream, or a list of upstream names',
          ),
      })
      .prefault({}),
    sessions: z
      .strictObject({
        ttlSeconds: int(1).default(3600).describe('Idle lifetime of a legacy session'),
        unknownId: z
          .enum(['reject', 'stateless'])
          .default('reject')
          .describe('reject (404) or serve stateless'),
        maxPerCaller: int(1)
          .default(100)
          .describe("Legacy sessions one caller may hold; over it, the caller's least recently used ends"),
        max: int(1)
          .default(100_000)
          .describe(
            'Legacy sessions in all (per replica on memory, shared on Redis); over it initialize gets 503',
          ),
      })
      .prefault({}),
    limits: z
      .strictObject({
        maxBodyBytes: int(1).default(4194304).describe('Largest accepted request body'),
        allowedOrigins: z
          .array(z.string().refine(isOrigin, { error: 'must be an origin like https://app.example.com' }))
          .default([])
          .describe('Browser origins allowed besides localhost'),
      })
      .prefault({}),
    secrets: z
      .strictObject({
        vaultKey: secret()
          .optional()
          .describe('PII vault key; generated per process if absent (one replica only)'),
        requestStateKey: secret()
          .optional()
          .describe('Key for request state; generated per process if absent'),
        auditKey: secret()
          .optional()
          .describe('HMAC key of the audit chain and argument hashes; generated per process if absent'),
        assertionKey: secret()
          .optional()
          .describe(
            'HS256 key of caller assertions, shared by the proxies of one fleet (`chain.assertCaller`)',
          ),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        perCaller: bool().default(false).describe('Add a caller label to mcp_fed_requests_total'),
      })
      .prefault({}),
  })
  .check(crossCheck(checkNames))
  .check(crossCheck(checkCallerAssertions))
  .check(crossCheck(checkPerCallerAuth));

function checkNames(c: Loose, report: Report) {
  const ns = (c.namespace ?? {}) as Loose;
  const sep = typeof ns.separator === 'string' && ns.separator !== '' ? ns.separator : '__';
  const maxLength = typeof ns.maxLength === 'number' ? ns.maxLength : 64;
  const names = new Set<string>();
  const prefixes = new Map<string, string>();
  const upstreams: Loose[] = Array.isArray(c.upstreams) ? c.upstreams : [];
  for (const [i, u] of upstreams.entries()) {
    if (typeof u?.name !== 'string') continue;
    const at = (key: string, message: string) => report(['upstreams', i, key], message);
    if (names.has(u.name)) {
      at('name', `duplicate upstream name "${u.name}"`);
      continue;
    }
    names.add(u.name);
    if (u.name.includes(sep)) at('name', `must not contain the separator "${sep}"`);
    // Upstreams that parsed have already been given their default prefix, so "explicit" means "differs".
    const prefix = typeof u.prefix === 'string' ? u.prefix : u.name;
    const key = prefix === u.name ? 'name' : 'prefix';
    if (key === 'prefix' && prefix.includes(sep)) at('prefix', `must not contain the separator "${sep}"`);
    const owner = prefixes.get(prefix);
    if (prefix !== '' && owner !== undefined)
      at(key, `prefix "${prefix}" is also used by upstream "${owner}": their names would collide`);
    else prefixes.set(prefix, u.name);
    // Shortened names keep a hash suffix, which needs room after the prefix.
    if (prefix.length + sep.length > maxLength - 16)
      at(key, `prefix too long for namespace.maxLength ${maxLength}`);
  }
}

// Caller assertions are signed and verified with one fleet-wide key: a per-process random one would verify nowhere.
function checkCallerAssertions(c: Loose, report: Report) {
  const hasKey = typeof (c.secrets as Loose | undefined)?.assertionKey === 'string';
  const chain = (c.chain ?? {}) as Loose;
  const sends = chain.assertCaller === true || Array.isArray(chain.assertCaller);
  if (sends && !hasKey) report(['secrets', 'assertionKey'], 'required when chain.assertCaller is on');
  if (Array.isArray(chain.assertCaller)) {
    const names = new Set((Array.isArray(c.upstreams) ? c.upstreams : []).map((u: Loose) => u?.name));
    chain.assertCaller.forEach((n: unknown, i) => {
      if (typeof n === 'string' && !names.has(n)) report(['chain', 'assertCaller', i], `no upstream "${n}"`);
    });
  }
  const auth = ((c.inbound as Loose | undefined)?.auth ?? {}) as Loose;
  const trusted: unknown[] = Array.isArray(auth.trustedProxies) ? auth.trustedProxies : [];
  if (trusted.length === 0) return;
  if (!hasKey) report(['secrets', 'assertionKey'], 'required when inbound.auth.trustedProxies is set');
  if (auth.kind !== 'apiKeys' || !Array.isArray(auth.keys)) return;
  const callers = new Set(auth.keys.map((k: Loose) => k?.caller));
  const groups = new Set(auth.keys.flatMap((k: Loose) => (Array.isArray(k?.groups) ? k.groups : [])));
  trusted.forEach((t, i) => {
    if (typeof t !== 'string') return;
    const known = t.startsWith('group:') ? groups.has(t.slice(6)) : callers.has(t);
    if (!known)
      report(
        ['inbound', 'auth', 'trustedProxies', i],
        `no API key has ${t.startsWith('group:') ? t : `caller "${t}"`}`,
      );
  });
}

// Acting for the caller needs to know who the caller is: a JWT's `sub`, and the token to exchange.
function checkPerCallerAuth(c: Loose, report: Report) {
  const inbound = ((c.inbound as Loose | undefined)?.auth ?? {}) as Loose;
  const upstreams: Loose[] = Array.isArray(c.upstreams) ? c.upstreams : [];
  for (const [i, u] of upstreams.entries()) {
    const kind = (u?.auth as Loose | undefined)?.kind;
    if ((PER_CALLER_AUTH as readonly unknown[]).includes(kind) && inbound.kind !== 'jwt')
      report(['upstreams', i, 'auth', 'kind'], `${kind} needs inbound.auth kind jwt (the caller is its sub)`);
  }
}

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
export type ListenConfig = Config['listen'];
export type StoreConfig = Config['store'];
export type RedisStoreConfig = Extract<StoreConfig, { kind: 'redis' }>;
export type NamespaceConfig = Config['namespace'];
export type InboundAuthConfig = Config['inbound']['auth'];
export type AuthConfig = UpstreamConfig['auth'];
export type OAuth2AuthConfig = Extract<AuthConfig, { kind: 'oauth2' }>;
export type SigV4AuthConfig = Extract<AuthConfig, { kind: 'sigv4' }>;
export type TokenExchangeAuthConfig = Extract<AuthConfig, { kind: 'tokenExchange' }>;
export type UserOAuthConfig = Extract<AuthConfig, { kind: 'userOAuth' }>;
export type ServiceAuthConfig = z.output<typeof ServiceAuthSchema>;
export type ExposeConfig = UpstreamConfig['expose'];
export type PoliciesConfig = Config['policies'];
export type AclRule = PoliciesConfig['acl'][number];
export type RateLimitRule = PoliciesConfig['rateLimits'][number];
export type PiiConfig = Config['pii'];
export type PiiEntity = (typeof PII_ENTITIES)[number];
export type AuditConfig = Config['audit'];
export type TelemetryConfig = Config['telemetry'];
export type ChainConfig = Config['chain'];
export type SessionsConfig = Config['sessions'];
export type LimitsConfig = Config['limits'];
export type SecretsConfig = Config['secrets'];
export type MetricsConfig = Config['metrics'];
export type CedarConfig = NonNullable<PoliciesConfig['cedar']>;
export type HookConfig = Config['hooks'][number];
export type AdminConfig = Config['admin'];
