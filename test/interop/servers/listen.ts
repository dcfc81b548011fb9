import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Listens on 127.0.0.1:`port` (0: any), prints `LISTENING <url><path>` once it does (what
 * test/helpers/spawn-server.ts waits for), and exits cleanly on SIGTERM / SIGINT.
 */
export function listenUntilSignal(http: Server, port: number, path: string, onStop?: () => void): void {
  http.listen(port, '127.0.0.1', () => {
    const { port: bound } = http.address() as AddressInfo;
    process.stdout.write(`LISTENING http://127.0.0.1:${bound}${path}\n`);
  });
  const stop = () => {
    onStop?.();
    http.closeAllConnections();
    http.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
