// `mcp-fed serve --config FILE` reloading live: SIGHUP re-reads the file (today's process, not a restart),
// `--watch` reloads when the file changes; an invalid file is refused and the running config kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, SAMPLES } from '../helpers/federation.ts';
import { rawCall } from '../helpers/governance.ts';
import { type StartedServer, startServer } from '../helpers/spawn-server.ts';
import { logLines, type Serving, startServe, tempDir } from './cli-helpers.ts';

let tools: StartedServer;
let dir: Awaited<ReturnType<typeof tempDir>>;

const yaml = (toolsUrl: string, deny: string[] = []) => `listen: { host: 127.0.0.1, port: 0 }
audit: { sink: off }
upstreams:
  - { name: tools, url: ${JSON.stringify(toolsUrl)}, catalogRefreshSeconds: 0 }
policies:
  acl: [{ callers: ["*"], allow: ["tools__*"], deny: ${JSON.stringify(deny)} }]
`;

beforeAll(async () => {
  [tools, dir] = await Promise.all([startServer(SAMPLES.tools, ['--port', '0']), tempDir()]);
});
afterAll(async () => {
  await tools?.stop();
  await dir?.remove();
});

const echo = async (serving: Serving) =>
  (await rawCall(serving.url, 'tools/call', { name: 'tools__echo', arguments: { text: 'hi' } })).json?.error
    ?.data?.code ?? 'ok';
const reloads = async (serving: Serving) => {
  const text = await (await fetch(`${serving.base}/metrics`)).text();
  const count = (result: string) =>
    Number(new RegExp(`mcp_fed_config_reloads_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? -1);
  return { ok: count('ok'), refused: count('refused') };
};

describe('mcp-fed serve: config reload', () => {
  it('SIGHUP applies a valid file, refuses an invalid one, and keeps serving', async () => {
    const file = await dir.write('hup.yaml', yaml(tools.url));
    const serving = await startServe(['serve', '--config', file]);
    try {
      expect(await echo(serving)).toBe('ok');
      await dir.write('hup.yaml', 'upstreams: [ { name: tools, url: "not a url" } ]\n');
      serving.proc.kill('SIGHUP');
      await eventually(async () => expect((await reloads(serving)).refused).toBe(1));
      expect(await echo(serving)).toBe('ok');
      const refusal = logLines(serving.stderr()).find((l) =>
        String(l.msg).startsWith('config reload refused'),
      );
      expect(refusal?.path).toMatch(/^upstreams\[0\]\.url$/);
      await dir.write('hup.yaml', yaml(tools.url, ['tools__echo']));
      serving.proc.kill('SIGHUP');
      await eventually(async () => expect(await echo(serving)).toBe('ACL_DENIED'));
      expect(await reloads(serving)).toEqual({ ok: 1, refused: 1 });
      expect(serving.proc.exitCode).toBeNull();
    } finally {
      await serving.stop();
    }
  }, 60_000);

  it('--watch reloads when the file changes', async () => {
    const file = await dir.write('watch.yaml', yaml(tools.url));
    const serving = await startServe(['serve', '--config', file, '--watch']);
    try {
      expect(await echo(serving)).toBe('ok');
      await dir.write('watch.yaml', yaml(tools.url, ['tools__echo']));
      await eventually(async () => expect(await echo(serving)).toBe('ACL_DENIED'));
      await dir.write('watch.yaml', yaml(tools.url));
      await eventually(async () => expect(await echo(serving)).toBe('ok'));
    } finally {
      await serving.stop();
    }
  }, 60_000);
});
