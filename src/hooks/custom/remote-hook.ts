import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { HookRunner } from './runner.ts';

/** An answer larger than this is a failure, not a result to buffer. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const PROBE_TIMEOUT_MS = 1_000;

export interface RemoteHookOptions {
  url: string;
  /** Sent with every request (the hook's own credential, say). */
  headers: Record<string, string>;
}

/** A remote hook failure with the reason a person reads in the log and in HOOK_FAILED. */
export class RemoteHookError extends Error {
  override readonly name = 'RemoteHookError';
}

/**
 * A remote hook: each phase is one POST of the hook JSON over a keep-alive connection, answered with
 * the outcome JSON and a 2xx status. The caller's AbortSignal ends the request (timeout).
 */
export function remoteHook(options: RemoteHookOptions): HookRunner {
  const target = new URL(options.url);
  const tls = target.protocol === 'https:';
  const agent = tls
    ? new HttpsAgent({ keepAlive: true, maxSockets: 64 })
    : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  const send = tls ? httpsRequest : httpRequest;
  const fixed = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };

  return {
    kind: 'remote',
    handles: () => true,
    answer(request, signal, headers) {
      const body = JSON.stringify(request);
      return new Promise((resolve, reject) => {
        const req = send(
          target,
          {
            method: 'POST',
            agent,
            signal,
            headers: {
              ...fixed,
              ...headers,
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_ANSWER_BYTES) {
                req.destroy(new RemoteHookError(`answer over ${MAX_ANSWER_BYTES} bytes`));
                return;
              }
              chunks.push(c);
            });
            res.on('error', reject);
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              if (status < 200 || status > 299) {
                reject(new RemoteHookError(`answered HTTP ${status}`));
                return;
              }
              try {
                resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
              } catch {
                reject(new RemoteHookError('answered something that is not JSON'));
              }
            });
          },
        );
        req.on('error', (err) => {
          const code = (err as NodeJS.ErrnoException).code;
          reject(
            err instanceof RemoteHookError || signal.aborted
              ? err
              : new RemoteHookError(code ? `unreachable (${code})` : err.message),
          );
        });
        req.end(body);
      });
    },
    reachable() {
      const port = Number(target.port || (tls ? 443 : 80));
      return new Promise((resolve) => {
        const host = target.hostname.replace(/^\[|\]$/g, '');
        const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS });
        const done = (ok: boolean) => {
          socket.destroy();
          resolve(ok);
        };
        socket.once('connect', () => done(true));
        socket.once('timeout', () => done(false));
        socket.once('error', () => done(false));
      });
    },
    async close() {
      agent.destroy();
    },
  };
}
