import { parseArgs } from 'node:util';
import { type App, createApp } from './app.ts';
import { runCheck } from './config/check.ts';
import { defaultFederation } from './config/default-config.ts';
import { ConfigError, loadConfigFile } from './config/load.ts';
import type { Config } from './config/schema.ts';
import { serveStdio } from './inbound/stdio-server.ts';
import { createLogger } from './log.ts';

const USAGE = `usage:
  mcp-fed serve [--config FILE] [--port N] [--host H]   serve over Streamable HTTP (no config: the sample federation)
  mcp-fed stdio --config FILE                           serve one local client over stdio
  mcp-fed check --config FILE                           validate a config file`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: { config: { type: 'string', short: 'c' }, port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
  });
  if (command === 'check') {
    if (!values.config) return usage('check needs --config FILE');
    return runCheck(values.config);
  }
  if (command !== 'serve' && command !== 'stdio') return usage(`unknown command "${command}"`);
  const log = createLogger();
  let config: Config;
  let children: { kill(): boolean }[] = [];
  try {
    if (values.config) config = await loadConfigFile(values.config);
    else if (command === 'serve') ({ config, children } = await defaultFederation());
    else return usage('stdio needs --config FILE');
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const stopChildren = () => {
    for (const c of children) c.kill();
  };
  process.once('exit', stopChildren);

  if (command === 'stdio') {
    const handle = await serveStdio(config, log);
    onSignals(() => handle.close());
    return -1;
  }
  const app: App = await createApp(config, { log });
  const port = values.port === undefined ? undefined : Number(values.port);
  const url = await app.listen(port, values.host);
  const tools = app.federation.catalog.tools.length;
  const ready = app.federation.upstreams.filter((u) => u.state === 'ready').length;
  process.stdout.write(
    `mcp-fed listening on ${url}\ncatalog: ${tools} tools, ${app.federation.catalog.prompts.length} prompts, ` +
      `${app.federation.catalog.resources.length} resources from ${ready}/${app.federation.upstreams.length} upstreams\n`,
  );
  onSignals(async () => {
    await app.close();
    stopChildren();
  });
  return -1;
}

function onSignals(close: () => Promise<void>): void {
  let closing = false;
  const stop = () => {
    if (closing) process.exit(1);
    closing = true;
    setTimeout(() => process.exit(0), 5_000).unref();
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
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
