/**
 * Local OAuth 2.0 authorization server of the lab (see lib/auth-server.ts): discovery, JWKS and the
 * client credentials grant, RS256 JWT access tokens.
 *   --port N (0 = random) --host H --token-ttl SECONDS (default 3600)
 *   --issuer-url URL  the issuer as clients reach it (default http://<host>:<port>), e.g.
 *                http://auth-server:3100 in docker-compose.yml, where the server binds 0.0.0.0
 *   --client ID  registered client id (default mcp-fed-lab); its secret comes from the environment
 *                variable MCP_FED_LAB_CLIENT_SECRET, never from the command line.
 * Prints `LISTENING <issuer URL>`.
 */
import { AuthServer } from './lib/auth-server.ts';
import { exitOnSignals, intFlag, logErr, parseCli } from './lib/cli.ts';

const flags = parseCli({
  port: { type: 'string' },
  host: { type: 'string' },
  'token-ttl': { type: 'string' },
  client: { type: 'string' },
  'issuer-url': { type: 'string' },
});
const secret = process.env.MCP_FED_LAB_CLIENT_SECRET;
if (!secret) {
  logErr('auth-server: set MCP_FED_LAB_CLIENT_SECRET to the secret of the registered client');
  process.exit(2);
}
try {
  const server = await AuthServer.start({
    host: flags.host ?? '127.0.0.1',
    port: intFlag(flags.port, 'port', 0),
    tokenTtlSeconds: intFlag(flags['token-ttl'], 'token-ttl', 3600),
    clients: { [flags.client ?? 'mcp-fed-lab']: secret },
    ...(flags['issuer-url'] !== undefined && { issuerUrl: flags['issuer-url'] }),
  });
  exitOnSignals(() => server.stop());
  process.stdout.write(`LISTENING ${server.issuer}\n`);
} catch (error) {
  logErr('auth-server failed to start:', error);
  process.exit(1);
}
