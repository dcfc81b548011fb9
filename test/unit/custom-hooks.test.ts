import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hook, HookAnswer } from 'mcp-fed/hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/config/check.ts';
import { parseConfig, readConfigFile } from '../../src/config/load.ts';
import { ProxyError } from '../../src/errors.ts';
import { importHookModule } from '../../src/hooks/custom/module-hook.ts';
import { HookPipeline, type PreHook } from '../../src/hooks/pipeline.ts';
import { callContextFor, echoCall } from '../helpers/call-fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-fed-hooks-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const problemsOf = (hooks: unknown[]) => {
  const r = parseConfig({ hooks });
  return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
};

describe('hooks: config', () => {
  it('refuses an entry that is both or neither kind, raw for a remote hook, a .ts module, a name twice', () => {
    expect(problemsOf([{ name: 'x', module: './a.mjs', url: 'http://127.0.0.1:1/h' }])).toEqual([
      'hooks[0]: needs module or url (one of them)',
    ]);
    expect(problemsOf([{ name: 'x' }])).toEqual(['hooks[0]: needs module or url (one of them)']);
    expect(problemsOf([{ name: 'x', url: 'http://127.0.0.1:1/h', sees: 'raw' }])).toEqual([
      'hooks[0].sees: raw is for module hooks only',
    ]);
    expect(problemsOf([{ name: 'x', module: './a.ts' }])).toEqual([
      'hooks[0].module: must be an ES module file (.js or .mjs)',
    ]);
    expect(problemsOf([{ name: 'x', url: 'ftp://h/x' }])).toEqual(['hooks[0].url: must be an http(s) URL']);
    expect(
      problemsOf([
        { name: 'x', url: 'http://127.0.0.1:1/h' },
        { name: 'x', url: 'http://127.0.0.1:2/h' },
      ]),
    ).toEqual(['hooks[1].name: hook "x" is listed twice']);
    expect(
      problemsOf([{ name: 'x', url: 'http://127.0.0.1:1/h', match: { methods: ['tools/list'] } }]),
    ).toHaveLength(1);
  });

  it('fills the defaults: reject on error, both phases, tokens, 1 s', () => {
    const r = parseConfig({ hooks: [{ name: 'x', url: 'http://127.0.0.1:1/h' }] });
    expect(r.ok && r.config.hooks[0]).toEqual({
      name: 'x',
      url: 'http://127.0.0.1:1/h',
      headers: {},
      timeoutMs: 1000,
      onError: 'reject',
      phases: ['before', 'after'],
      sees: 'tokens',
    });
  });

  it('`check` and `serve` refuse a module that is missing or exports no hook function, relative to the config', async () => {
    await writeFile(join(dir, 'empty.mjs'), 'export const x = 1;\n');
    await writeFile(join(dir, 'good.mjs'), 'export function before() { return { outcome: "pass" }; }\n');
    const config = join(dir, 'mcp-fed.yaml');
    await writeFile(
      config,
      'hooks:\n  - { name: a, module: ./missing.mjs }\n  - { name: b, module: ./empty.mjs }\n  - { name: c, module: ./good.mjs }\n',
    );
    const result = await readConfigFile(config, {});
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems.map((p) => p.path)).toEqual(['hooks[0].module', 'hooks[1].module']);
    expect(problems[0]?.message).toBe(`module ${join(dir, 'missing.mjs')} not found`);
    expect(problems[1]?.message).toMatch(/exports neither a before nor an after function/);
    const err: string[] = [];
    expect(await runCheck(config, { env: {}, out: () => {}, err: (l) => err.push(l) })).toBe(1);
    expect(err.join('\n')).toContain('hooks[1].module:');
  });
});

describe('module hooks', () => {
  it('import a changed file afresh, and keep an unchanged one', async () => {
    const file = join(dir, 'versioned.mjs');
    const answerWith = async (message: string, mtime: number) => {
      await writeFile(
        file,
        `export const before = () => ({ outcome: 'reject', message: ${JSON.stringify(message)} });\n`,
      );
      await utimes(file, mtime, mtime);
    };
    const ask = async () => {
      const runner = await importHookModule(file);
      return runner.answer(
        {
          phase: 'before',
          call: {
            method: 'tools/call',
            name: 'a',
            upstream: 'u',
            upstreamName: 'a',
            arguments: {},
            annotations: {},
          },
          context: { requestId: 'r', caller: { id: 'c', groups: [] }, era: 'modern', hops: 1, traceId: null },
        },
        new AbortController().signal,
        {},
      );
    };
    await answerWith('first', 1_700_000_000);
    expect(await ask()).toEqual({ outcome: 'reject', message: 'first' });
    await answerWith('second', 1_700_000_100);
    expect(await ask()).toEqual({ outcome: 'reject', message: 'second' });
  });

  it('are typed by the package (mcp-fed/hooks)', () => {
    const hook: Hook = {
      before: (call): HookAnswer =>
        call.annotations.destructiveHint === true
          ? { outcome: 'reject', message: 'no' }
          : { outcome: 'pass' },
    };
    expect(hook.before?.({ annotations: { destructiveHint: true } } as never, {} as never)).toEqual({
      outcome: 'reject',
      message: 'no',
    });
  });
});

describe('HookPipeline: awaitsEarlier', () => {
  it('runs a hook of yours only after the overlapping rate limit said yes', async () => {
    let reached = 0;
    const limited: PreHook = {
      name: 'rate-limit',
      overlaps: true,
      before: async () => ({
        kind: 'reject',
        decision: 'rate_limited',
        error: new ProxyError('RATE_LIMITED', 'slow down'),
      }),
    };
    const yours: PreHook = {
      name: 'hook:x',
      awaitsEarlier: true,
      before: () => {
        reached++;
        return { kind: 'pass' };
      },
    };
    const ctx = callContextFor();
    const out = await new HookPipeline([limited, yours]).before(echoCall({}), ctx);
    expect(out.ok).toBe(false);
    expect(ctx.decision).toBe('rate_limited');
    expect(reached).toBe(0);
    // Without the flag the hook would have run while the limit was still being counted.
    await new HookPipeline([limited, { ...yours, awaitsEarlier: false }]).before(
      echoCall({}),
      callContextFor(),
    );
    expect(reached).toBe(1);
  });
});
