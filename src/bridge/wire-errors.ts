import { type ErrorCode, ProxyError, UpstreamRpcError } from '../errors.ts';

/** An error as it crosses the replica bus: enough to raise the same error on the other side. */
export type WireError =
  | { proxy: ErrorCode; message: string; data: Record<string, unknown> }
  | { rpc: number; message: string; data?: unknown };

export function toWireError(err: unknown): WireError {
  if (err instanceof ProxyError) return { proxy: err.code, message: err.message, data: err.data };
  if (err instanceof UpstreamRpcError) return { rpc: err.rpcCode, message: err.message, data: err.data };
  return { proxy: 'UPSTREAM_ERROR', message: 'the input exchange failed', data: {} };
}

export function fromWireError(wire: WireError): Error {
  if ('proxy' in wire) return new ProxyError(wire.proxy, wire.message, wire.data);
  return new UpstreamRpcError(wire.rpc, wire.message, wire.data);
}
