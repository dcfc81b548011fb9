// The container image, checked structurally (no container engine runs here): the Dockerfile's stages and
// instructions, what the image runs (resolved through COPY chains down to the TypeScript build's own
// output map), the build context, the baked-in config, and that the production dependency tree is pure
// JS so `docker buildx --platform linux/arm64,linux/amd64` yields two working images.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { formatProblems } from '../../src/config/check.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { CONFIG_PATH_ENV } from '../../src/config/load-source.ts';
import { REPO_ROOT } from '../helpers/spawn-server.ts';

interface Instruction {
  keyword: string;
  /** The text after the keyword, flags included. */
  args: string;
  line: number;
}
interface Stage {
  name: string;
  index: number;
  image: string;
  platform?: string;
  body: Instruction[];
}

/** Instructions per stage; global ARGs (before the first FROM) give the defaults FROM lines expand. */
function parseDockerfile(text: string): { globalArgs: Record<string, string>; stages: Stage[] } {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) return;
    if (pending === '') start = i + 1;
    if (line.startsWith('#')) return; // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = pending + line;
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    instructions.push({ keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  });
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/);
      const platform = words.find((w) => w.startsWith('--platform='))?.slice('--platform='.length);
      const [image = '', as, name] = words.filter((w) => !w.startsWith('--'));
      const expanded = image.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => globalArgs[a ?? b] ?? '');
      const index = stages.length;
      stages.push({
        name: as?.toUpperCase() === 'AS' && name ? name : String(index),
        index,
        image: expanded,
        platform,
        body: [],
      });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [k, v = ''] = ins.args.split('=');
      globalArgs[k!.trim()] = v.trim();
    } else stages.at(-1)!.body.push(ins);
  }
  return { globalArgs, stages };
}

const execForm = (args: string): string[] | undefined => {
  try {
    const parsed = JSON.parse(args) as unknown;
    return Array.isArray(parsed) ? parsed.map(String) : undefined;
  } catch {
    return undefined;
  }
};

interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  /** `COPY a b c dir/`, `COPY file .`: the destination is a directory the sources go into. */
  destIsDir: boolean;
}
/** COPY/ADD with its destination made absolute against the stage's WORKDIR at that point. */
function copies(stage: Stage): Copy[] {
  let workdir = '/';
  const out: Copy[] = [];
  for (const ins of stage.body) {
    if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
    const words = execForm(ins.args) ?? ins.args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    const dest = paths.pop()!;
    const destIsDir = dest.endsWith('/') || dest === '.' || paths.length > 1;
    out.push({ from, sources: paths, dest: posix.resolve(workdir, dest), destIsDir });
  }
  return out;
}

function workdirOf(stage: Stage): string {
  let workdir = '/';
  for (const ins of stage.body) if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
  return workdir;
}

/** Where a file at `path` in `stage` comes from: the build context, or a stage's own output (a RUN). */
function origin(
  stages: Stage[],
  stage: Stage,
  path: string,
): { stage?: Stage; context?: string; path: string } {
  for (const c of copies(stage).reverse()) {
    for (const src of c.sources) {
      // A directory source copies its contents; a file source lands in a directory destination by name.
      const srcIsDir =
        c.from === undefined
          ? existsSync(posix.join(REPO_ROOT, src)) && statSync(posix.join(REPO_ROOT, src)).isDirectory()
          : !/\.\w+$/.test(posix.basename(src));
      const dir = !srcIsDir && c.destIsDir ? posix.join(c.dest, posix.basename(src)) : c.dest;
      if (path !== dir && !path.startsWith(`${dir}/`)) continue;
      const rest = path.slice(dir.length);
      if (c.from === undefined) return { context: posix.normalize(src + rest), path };
      const prev = stages.find((s) => s.name === c.from || String(s.index) === c.from);
      if (!prev) throw new Error(`COPY --from=${c.from}: no such stage`);
      return origin(stages, prev, posix.resolve(workdirOf(prev), src) + rest);
    }
  }
  return { stage, path };
}

/** A small .dockerignore matcher: globs (`*`, `**`), `!` exceptions, a match covers everything below it. */
function dockerignored(patterns: string[], path: string): boolean {
  const toRegex = (p: string) =>
    new RegExp(
      `^${p
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '(?:.*)'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\(\?:\.\*\)\//g, '(?:.*/)?')}(?:/.*)?$`,
    );
  let ignored = false;
  for (const p of patterns) {
    const negate = p.startsWith('!');
    if (toRegex(negate ? p.slice(1) : p).test(path)) ignored = !negate;
  }
  return ignored;
}

const read = (file: string) => readFileSync(posix.join(REPO_ROOT, file), 'utf8');
const { globalArgs, stages } = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1)!;
const ignorePatterns = read('.dockerignore')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
const inRuntime = (keyword: string) => runtime.body.filter((i) => i.keyword === keyword);
const envOf = (stage: Stage): Record<string, string> => {
  const env: Record<string, string> = {};
  for (const ins of stage.body.filter((i) => i.keyword === 'ENV'))
    for (const m of ins.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  return env;
};

/** The TypeScript build (tsconfig.build.json): which file it emits for a source, relative to the repo. */
const build = ts.getParsedCommandLineOfConfigFile(posix.join(REPO_ROOT, 'tsconfig.build.json'), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
})!;
const emittedJs = (source: string) =>
  posix.relative(
    REPO_ROOT,
    ts.getOutputFileNames(build, posix.join(REPO_ROOT, source), false).find((f) => f.endsWith('.js'))!,
  );

/** Resolves a file the runtime image runs to the repo source the build compiled it from. */
function sourceOfRuntimeFile(imagePath: string): string {
  const o = origin(stages, runtime, imagePath);
  expect(o.stage, `${imagePath} must come from a build stage, not the context`).toBeDefined();
  const rel = posix.relative(workdirOf(o.stage!), o.path);
  const source = build.fileNames.map((f) => posix.relative(REPO_ROOT, f)).find((f) => emittedJs(f) === rel);
  expect(source, `no source in tsconfig.build.json emits ${rel}`).toBeDefined();
  const runs = o.stage!.body.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  expect(runs.some((r) => /\btsc\b.*-p\s+tsconfig\.build\.json/.test(r))).toBe(true);
  const compiled = origin(stages, o.stage!, posix.resolve(workdirOf(o.stage!), source!));
  expect(compiled.context, `${source} must be copied into stage ${o.stage!.name}`).toBe(source);
  return source!;
}

describe('Dockerfile', () => {
  it('has a build stage and a separate runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.body.some((i) => i.keyword === 'RUN' && /\btsc\b/.test(i.args))).toBe(false);
  });

  it('builds every stage FROM an official multi-arch Node image, major 20 or later, no arch pinned', () => {
    for (const s of stages) {
      if (stages.some((p) => p.index < s.index && p.name === s.image)) continue; // FROM an earlier stage
      const m =
        /^(?:docker\.io\/)?(?:library\/)?node:(\d+)(?:\.\d+){0,2}(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$/.exec(
          s.image,
        );
      expect(m, `stage ${s.name}: FROM ${s.image}`).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(20);
      // Variants published for both linux/amd64 and linux/arm64.
      expect(m![2] ?? '').toMatch(/^(-(bookworm|trixie|bullseye|alpine[\d.]*))?(-slim)?$/);
      if (s.platform !== undefined) expect(s.platform).toMatch(/^\$\{?(BUILDPLATFORM|TARGETPLATFORM)\}?$/);
    }
    expect(Number(globalArgs.NODE_VERSION ?? '20')).toBeGreaterThanOrEqual(20);
  });

  it('runtime stage: production dependencies only, no TypeScript loader, non-root, port 8000', () => {
    for (const ins of runtime.body) {
      expect(`${ins.keyword} ${ins.args}`).not.toMatch(/\btsx\b|esbuild|--import/);
      if (ins.keyword === 'RUN') expect(ins.args).not.toMatch(/\bnpm (ci|install|i)\b(?!.*--omit=dev)/);
    }
    // node_modules copied in come from an install that omitted the dev dependencies.
    for (const c of copies(runtime).filter((c) => c.sources.some((s) => s.includes('node_modules')))) {
      const from = stages.find((s) => s.name === c.from);
      expect(from, 'node_modules must come from an install stage').toBeDefined();
      const install = from!.body.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.args));
      expect(install.length).toBeGreaterThan(0);
      for (const i of install) expect(i.args).toMatch(/--omit=dev/);
    }
    expect(envOf(runtime).NODE_ENV).toBe('production');
    const user = inRuntime('USER').at(-1)?.args.split(':')[0];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(inRuntime('EXPOSE').flatMap((i) => i.args.split(/\s+/))).toContain('8000');
  });

  it('has a HEALTHCHECK that probes /healthz on port 8000 with node (slim images have no curl)', () => {
    const hc =
      inRuntime('HEALTHCHECK').at(-1) ??
      stages.flatMap((s) => s.body).find((i) => i.keyword === 'HEALTHCHECK');
    expect(hc).toBeDefined();
    expect(hc!.args).not.toMatch(/^NONE\b/);
    const cmd = execForm(hc!.args.replace(/^.*?\bCMD\s+/, ''));
    expect(cmd?.[0]).toBe('node');
    expect(cmd?.join(' ')).toMatch(/127\.0\.0\.1:8000\/healthz/);
  });

  it('ENTRYPOINT runs, with plain node, a file the TypeScript build emits from src/main.ts', () => {
    const entry = execForm(inRuntime('ENTRYPOINT').at(-1)?.args ?? '');
    expect(entry?.[0]).toBe('node');
    expect(entry).toHaveLength(2);
    expect(entry).toEqual(['node', '/app/dist/src/main.js']); // docker-compose.yml and the README rely on it
    expect(sourceOfRuntimeFile(entry![1]!)).toBe('src/main.ts');
    expect(existsSync(posix.join(REPO_ROOT, 'src/main.ts'))).toBe(true);
    expect(execForm(inRuntime('CMD').at(-1)?.args ?? '')?.[0]).toBe('serve');
  });

  it('copies only what exists: context files present and not .dockerignored, stages defined earlier', () => {
    for (const s of stages)
      for (const c of copies(s)) {
        if (c.from !== undefined) {
          const prev = stages.find((p) => p.name === c.from || String(p.index) === c.from);
          expect(prev && prev.index < s.index, `COPY --from=${c.from} in stage ${s.name}`).toBe(true);
          continue;
        }
        for (const src of c.sources) {
          expect(existsSync(posix.join(REPO_ROOT, src)), `COPY ${src}`).toBe(true);
          expect(dockerignored(ignorePatterns, posix.normalize(src)), `${src} is .dockerignored`).toBe(false);
          if (statSync(posix.join(REPO_ROOT, src)).isDirectory())
            expect(dockerignored(ignorePatterns, posix.join(src, 'x.ts')), `${src}/ is .dockerignored`).toBe(
              false,
            );
        }
      }
  });

  it('.dockerignore keeps node_modules, dist and .git out of the build context', () => {
    for (const path of ['node_modules', 'node_modules/zod/package.json', 'dist/src/main.js', '.git/HEAD'])
      expect(dockerignored(ignorePatterns, path), path).toBe(true);
  });

  it('bakes in a config for AgentCore Runtime: 0.0.0.0:8000/mcp, stateless unknown sessions, samples from dist', () => {
    const path = envOf(runtime)[CONFIG_PATH_ENV];
    expect(path).toBe('/app/config/container.yaml');
    const file = origin(stages, runtime, path!).context;
    expect(file).toBe('config/container.yaml');
    const result = parseConfigText(read(file!), { source: file, env: {} });
    if (!result.ok) throw new Error(formatProblems(result.problems));
    const { listen, sessions, store, upstreams } = result.config;
    expect(listen).toEqual({ host: '0.0.0.0', port: 8000, path: '/mcp' });
    expect(sessions.unknownId).toBe('stateless');
    expect(store.kind).toBe('memory');
    expect(upstreams.length).toBeGreaterThan(0);
    for (const u of upstreams) {
      // stdio samples only: the image must start without network.
      expect(u.transport).toBe('stdio');
      if (u.transport !== 'stdio') continue;
      const [cmd, script] = u.command;
      expect(cmd).toBe('node');
      expect(u.command.join(' ')).not.toMatch(/tsx|--import/);
      // Relative to WORKDIR /app, and a file the build emits.
      expect(sourceOfRuntimeFile(posix.resolve(workdirOf(runtime), script!))).toMatch(/^upstreams\/.*\.ts$/);
    }
  });
});

/**
 * Packages whose install script is plain JavaScript and builds nothing (the deps stage runs
 * `npm ci --ignore-scripts` anyway; this list only documents that skipping them is harmless).
 */
const PURE_JS_INSTALL_SCRIPTS: Record<string, string> = {
  // OTLP exporter → otlp-transformer → protobufjs: its postinstall only warns about a version scheme.
  protobufjs: 'postinstall prints a version-scheme warning; no native code',
};

describe('package-lock.json: production dependencies are architecture-neutral', () => {
  const lock = JSON.parse(read('package-lock.json')) as {
    lockfileVersion: number;
    packages: Record<string, Record<string, unknown>>;
  };
  const production = Object.entries(lock.packages).filter(([key, p]) => key !== '' && p.dev !== true);
  const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);

  it('is a lockfile v2/v3 with a production tree', () => {
    expect(lock.lockfileVersion).toBeGreaterThanOrEqual(2);
    expect(production.length).toBeGreaterThan(10);
    expect(production.map(([k]) => nameOf(k))).not.toContain('tsx');
    expect(production.map(([k]) => nameOf(k))).not.toContain('esbuild');
  });

  it('has no install script that builds native code, except the pure-JS ones listed by name', () => {
    const scripted = production.filter(([, p]) => p.hasInstallScript === true || p.gypfile === true);
    for (const [key] of scripted)
      expect(PURE_JS_INSTALL_SCRIPTS, `${key} runs an install script`).toHaveProperty([nameOf(key)]);
  });

  it('has no os- or cpu-restricted (per-architecture binary) package', () => {
    const restricted = production
      .filter(([, p]) => p.os !== undefined || p.cpu !== undefined)
      .map(([k]) => k);
    expect(restricted).toEqual([]);
  });
});
