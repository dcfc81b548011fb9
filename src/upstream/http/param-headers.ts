/**
 * `Mcp-Param-{Name}` headers (2026-07-28, SEP-2243 "custom headers"): a tool may mark input properties
 * with `x-mcp-header: Name` so intermediaries can route on them without reading the body; a client MUST
 * mirror each such argument of a tools/call into the header, and a server rejects a call whose headers
 * and body disagree (-32020). The proxy is that client for its upstreams, so it mirrors the arguments
 * its upstream's own schema declares.
 */

/** One declared header: the argument's path through `properties`, and the header's name. */
export interface ParamHeader {
  path: string[];
  header: string;
}

const X_MCP_HEADER = 'x-mcp-header';
/** RFC 9110 token: a header name without spaces, controls or delimiters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE = new Set(['string', 'integer', 'number', 'boolean']);
const SENTINEL_START = '=?base64?';
const SENTINEL_END = '?=';
const NONE: ParamHeader[] = [];

/** Declarations per schema object: tools are listed once and called many times. */
const scanned = new WeakMap<object, ParamHeader[]>();

/**
 * The headers a tool's `inputSchema` declares (statically reachable through `properties` only, on
 * primitive-typed properties). A schema that declares one badly gets none: its calls go without them,
 * and a server that insists says so in its own error.
 */
export function declaredParamHeaders(inputSchema: unknown): ParamHeader[] {
  if (!inputSchema || typeof inputSchema !== 'object') return NONE;
  let found = scanned.get(inputSchema);
  if (!found) {
    const out: ParamHeader[] = [];
    found = scan(inputSchema as Record<string, unknown>, [], out) && unique(out) ? out : NONE;
    scanned.set(inputSchema, found);
  }
  return found;
}

function scan(schema: Record<string, unknown>, path: string[], out: ParamHeader[]): boolean {
  const properties = schema.properties;
  if (!properties || typeof properties !== 'object') return true;
  for (const [name, value] of Object.entries(properties as Record<string, unknown>)) {
    if (!value || typeof value !== 'object') continue;
    const property = value as Record<string, unknown>;
    const header = property[X_MCP_HEADER];
    if (header !== undefined) {
      if (typeof header !== 'string' || !TOKEN.test(header)) return false;
      if (typeof property.type !== 'string' || !PRIMITIVE.has(property.type)) return false;
      out.push({ path: [...path, name], header });
    }
    if (!scan(property, [...path, name], out)) return false;
  }
  return true;
}

function unique(headers: ParamHeader[]): boolean {
  return new Set(headers.map((h) => h.header.toLowerCase())).size === headers.length;
}

/** Adds the `mcp-param-*` headers for `args` to `headers` (none for an absent or null argument). */
export function addParamHeaders(
  declared: readonly ParamHeader[],
  args: unknown,
  headers: Record<string, string>,
): void {
  for (const { path, header } of declared) {
    const value = headerValue(valueAt(args, path));
    if (value !== undefined) headers[`mcp-param-${header.toLowerCase()}`] = value;
  }
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (!node || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The field value: plain when it is safe printable ASCII, otherwise `=?base64?<utf-8 base64>?=`. */
function headerValue(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = value ? 'true' : 'false';
  else if (typeof value === 'number' && Number.isFinite(value)) {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) return undefined;
    text = String(value);
  } else return undefined;
  return plain(text)
    ? text
    : `${SENTINEL_START}${Buffer.from(text, 'utf8').toString('base64')}${SENTINEL_END}`;
}

/** Safe as it is: non-empty, no edge whitespace (parsers strip it), visible ASCII or tab, not sentinel-shaped. */
function plain(text: string): boolean {
  if (text === '' || text !== text.trim()) return false;
  if (text.startsWith(SENTINEL_START) && text.endsWith(SENTINEL_END)) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 9 && (c < 0x20 || c > 0x7e)) return false;
  }
  return true;
}

/**
 * Whether a request's `mcp-param-*` headers agree with its arguments (the server side of SEP-2243):
 * each declared argument present must arrive as its header (plain or valid Base64 sentinel) with the
 * same value, and none may arrive for an absent argument. Returns what disagrees, or undefined.
 */
export function paramHeaderMismatch(
  declared: readonly ParamHeader[],
  args: unknown,
  headers: Record<string, string | string[] | undefined>,
): string | undefined {
  for (const { path, header } of declared) {
    const name = `Mcp-Param-${header}`;
    const sent = headers[`mcp-param-${header.toLowerCase()}`];
    const raw = valueAt(args, path);
    const expected = raw === undefined || raw === null ? undefined : headerValue(raw);
    if (sent === undefined) {
      if (expected !== undefined)
        return `the body carries ${path.join('.')} but the ${name} header is absent`;
      continue;
    }
    if (Array.isArray(sent)) return `the ${name} header is repeated`;
    const value = decoded(sent);
    if (value === undefined) return `the ${name} header is not a valid value (bad Base64)`;
    if (expected === undefined) return `the ${name} header is present but the body has no ${path.join('.')}`;
    if (value !== decoded(expected)) return `the ${name} header disagrees with the body's ${path.join('.')}`;
  }
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A header value as text: plain as it is, a Base64 sentinel decoded (undefined when malformed). */
function decoded(value: string): string | undefined {
  const text = value.trim();
  if (!(text.startsWith(SENTINEL_START) && text.endsWith(SENTINEL_END) && text.length >= 11)) return text;
  const b64 = text.slice(SENTINEL_START.length, -SENTINEL_END.length);
  if (!BASE64.test(b64)) return undefined;
  const bytes = Buffer.from(b64, 'base64');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
