/**
 * Errors the proxy itself raises. The `code` string is the stable contract (DESIGN.md,
 * "HTTP surface"); the numeric JSON-RPC code per class is listed in the README.
 */
export type ErrorCode =
  | 'ACL_DENIED'
  | 'RATE_LIMITED'
  | 'PII_BLOCKED'
  | 'UNKNOWN_TOOL'
  | 'UNKNOWN_PROMPT'
  | 'UNKNOWN_RESOURCE'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_AUTH_FAILED'
  | 'UPSTREAM_ERROR'
  | 'HOP_LIMIT'
  | 'STORE_UNAVAILABLE'
  | 'INPUT_REQUEST_EXPIRED'
  | 'HOOK_REJECTED'
  | 'HOOK_FAILED'
  | 'SESSIONS_FULL'
  | 'UPSTREAM_CONSENT_REQUIRED'
  | 'INVALID_CURSOR'
  | 'INVALID_REQUEST';

/**
 * JSON-RPC error codes: spec codes first, then the proxy's own range (-32040..-32059), which skips
 * -32042 (2025-11-25's URLElicitationRequiredError).
 */
export const JSONRPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  RESOURCE_NOT_FOUND: -32002,
  HEADER_MISMATCH: -32020,
  UNSUPPORTED_PROTOCOL_VERSION: -32022,
} as const;

export const ERROR_NUMBERS: Record<ErrorCode, number> = {
  UNKNOWN_TOOL: JSONRPC.INVALID_PARAMS,
  UNKNOWN_PROMPT: JSONRPC.INVALID_PARAMS,
  UNKNOWN_RESOURCE: JSONRPC.RESOURCE_NOT_FOUND,
  INVALID_CURSOR: JSONRPC.INVALID_PARAMS,
  INVALID_REQUEST: JSONRPC.INVALID_REQUEST,
  ACL_DENIED: -32040,
  RATE_LIMITED: -32041,
  PII_BLOCKED: -32050,
  UPSTREAM_UNAVAILABLE: -32043,
  UPSTREAM_TIMEOUT: -32044,
  UPSTREAM_AUTH_FAILED: -32045,
  UPSTREAM_ERROR: -32046,
  HOP_LIMIT: -32047,
  STORE_UNAVAILABLE: -32048,
  INPUT_REQUEST_EXPIRED: -32049,
  HOOK_REJECTED: -32051,
  HOOK_FAILED: -32052,
  SESSIONS_FULL: -32053,
  UPSTREAM_CONSENT_REQUIRED: -32054,
};

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly data: Record<string, unknown> = {},
    /** HTTP status when the error answers a whole HTTP request (most are 200 with a JSON-RPC error). */
    readonly httpStatus = 200,
  ) {
    super(message);
  }

  get rpcCode(): number {
    return ERROR_NUMBERS[this.code];
  }

  toJsonRpc(): { code: number; message: string; data: Record<string, unknown> } {
    return { code: this.rpcCode, message: this.message, data: { ...this.data, code: this.code } };
  }
}

/** An error an upstream returned as a JSON-RPC error: passed through with its own code. */
export class UpstreamRpcError extends Error {
  override readonly name = 'UpstreamRpcError';
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}
