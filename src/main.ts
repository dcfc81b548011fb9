// Only what every command needs is imported up front: `check` must not load (or depend on) the proxy.
import { parseArgs } from 'node:util';
import { ConfigError } from './config/load.ts';
import { checkConfigSource, configSource, loadConfigSource } from './config/load-source.ts';
import type { Config } from './config/schema.ts';

const USAGE = `usage:
  mcp-fed serve [--config FILE] [--port N] [--host H] [--watch]
                                                        serve over Streamable HTTP (no config: the sample federation);
                                                        SIGHUP re-reads the config, --watch also on file changes
  mcp-fed stdio --config FILE                           serve one local client over stdio
  mcp-fed check --config FILE                           validate a config file
  mcp-fed audit verify FILE [--config F] [--expect-last HASH]
                                                        check an audit file's hash chain (key: secrets.auditKey or MCP_FED_AUDIT_KEY)
without --config, the config comes from the environment:
  MCP_FED_CONFIG_YAML=DOCUMENT   the config itself, YAML or JSON (for platforms where mounting a file is awkward)
  MCP_FED_CONFIG=FILE            path of the config file (MCP_FED_CONFIG_YAML wins when both are set)`;

async function auditCommand(args: string[]): Promise<number> {
  let parsed: { values: { config?: string; 'expect-last'?: string }; positionals: string[] };
  try {
    parsed = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, 'expect-last': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const [sub, file, ...extra] = parsed.positionals;
  if (sub !== 'verify' || !file || extra.length > 0) return usage('audit verify needs one FILE');
  const { runAuditVerify } = await import('./hooks/audit/verify-command.ts');
  return runAuditVerify({ file, config: parsed.values.config, expectLast: parsed.values['expect-last'] });
}

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === 'audit') return auditCommand(rest);
  let values: { config?: string; port?: string; host?: string; watch?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string' },
        host: { type: 'string' },
        watch: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  const source = configSource(values.config);
  // Read once and not inherited: stdio upstreams get this process's environment, and the inline document may
  // hold secrets (or make a child mcp-fed serve this very config).
  delete process.env.MCP_FED_CONFIG_YAML;
  delete process.env.MCP_FED_CONFIG;
  if (command === 'check') {
    if (!source) return usage('check needs --config FILE');
    return checkConfigSource(source);
  }
  if (command !== 'serve' && command !== 'stdio') return usage(`unknown command "${command}"`);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    return usage(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  const { createLogger } = await import('./log.ts');
  const log = createLogger();
  // Signals are handled from the start: a SIGTERM during start-up still stops the sample children
  // (Node's default action would kill this process without running the 'exit' handler below).
  let close = async () => {};
  const shutdown = onSignals(() => close());
  let config: Config;
  let children: { kill(): boolean }[] = [];
  const stopChildren = () => {
    for (const c of children) c.kill();
  };
  process.once('exit', stopChildren);
  try {
    if (source) config = await loadConfigSource(source);
    else if (command === 'serve') {
      const { defaultFederation } = await import('./config/default-config.ts');
      const started = await defaultFederation();
      ({ config, children } = started);
      for (const s of started.samples) log.info(s, 'started sample upstream');
    } else return usage('stdio needs --config FILE');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }

  if (command === 'stdio') {
    // stdio has no caller token to act with and no HTTP server for a consent callback (DESIGN.md).
    const perCaller = config.upstreams.flatMap((u, i) =>
      u.auth.kind === 'tokenExchange' || u.auth.kind === 'userOAuth'
        ? [{ path: `upstreams[${i}].auth.kind`, message: `${u.auth.kind} needs mcp-fed serve (not stdio)` }]
        : [],
    );
    if (perCaller.length > 0) {
      process.stderr.write(`${new ConfigError(perCaller).message}\n`);
      return 1;
    }
    const { serveStdio } = await import('./inbound/stdio-server.ts');
    const handle = await serveStdio(config, log);
    close = () => handle.close();
    // The client closed stdin: it is gone, so this process should be too (MCP stdio binding).
    void handle.ended.then(() => shutdown());
    return -1;
  }
  const { createApp } = await import('./app.ts');
  const app = await createApp(config, { log });
  // The sample federation (no config source) has nothing to re-read; SIGHUP then just logs that.
  const { handleReloads } = await import('./config/reloader.ts');
  const reloads = source ? handleReloads(source, app, log, { watch: values.watch === true }) : undefined;
  if (!source) process.on('SIGHUP', () => log.warn('SIGHUP: no config file to reload (sample federation)'));
  else if (values.watch) log.info('watching the config file for changes');
  close = async () => {
    reloads?.stop();
    await app.close();
    stopChildren();
  };
  const url = await app.listen(port, values.host);
  const tools = app.federation.catalog.tools.length;
  const ready = app.federation.upstreams.filter((u) => u.state === 'ready').length;
  process.stdout.write(
    `mcp-fed listening on ${url}\ncatalog: ${tools} tools, ${app.federation.catalog.prompts.length} prompts, ` +
      `${app.federation.catalog.resources.length} resources from ${ready}/${app.federation.upstreams.length} upstreams\n`,
  );
  return -1;
}

/** SIGTERM/SIGINT run `close` once, then exit; a second signal or a hung close still ends the process. */
function onSignals(close: () => Promise<void>): () => void {
  let closing = false;
  const stop = (signalled: boolean) => {
    if (closing) {
      if (signalled) process.exit(1);
      return;
    }
    closing = true;
    setTimeout(() => process.exit(0), 5_000).unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop(true));
  process.on('SIGINT', () => stop(true));
  return () => stop(false);
}

function usage(problem: string): number {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`mcp-fed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
