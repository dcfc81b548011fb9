/**
 * docker-compose.yml against what it names and against `npm run lab`: every service, build context,
 * Dockerfile, mount, compiled entry point and config file exists; healthchecks and depends_on conditions
 * are wired; and services, ports, commands, environment and probes agree with scripts/lab/topology.ts,
 * the module the local lab runs from (the one difference: Jaeger there, the project's receiver here).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  COMPOSE_CONTEXT,
  composeCommand,
  composeHealthcheck,
  type LabService,
  localCommand,
  localContext,
  REPO_ROOT,
  SERVICES,
} from '../../scripts/lab/topology.ts';
import { readConfigFile } from '../../src/config/load.ts';

interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  expose?: (string | number)[];
  ports?: string[];
  volumes?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string };
}

const root = (...parts: string[]) => join(REPO_ROOT, ...parts);
const compose = parse(readFileSync(root('docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const entries = Object.entries(services);
const byTopology = (s: LabService): ComposeService => {
  const c = services[s.composeName];
  if (!c) throw new Error(`docker-compose.yml has no service ${s.composeName}`);
  return c;
};

/** The container side of `ports` entries ("8000:8000", "127.0.0.1:8000:8000/tcp") and `expose`. */
function containerPorts(c: ComposeService): string[] {
  const published = (c.ports ?? []).map((p) => String(p).split('/')[0]!.split(':').pop()!);
  return [...(c.expose ?? []).map(String), ...published];
}

/** A one-shot runs to completion and what depends on it waits for that, not for health. */
function isOneShot(name: string): boolean {
  return entries.some(([, c]) => c.depends_on?.[name]?.condition === 'service_completed_successfully');
}

/** Host path of a container path, through the service's bind mounts. */
function hostPathOf(c: ComposeService, containerPath: string): string | undefined {
  for (const v of c.volumes ?? []) {
    const [source, target] = v.split(':');
    if (!source || !target || !source.startsWith('.')) continue;
    if (containerPath === target || containerPath.startsWith(`${target}/`))
      return root(source, posix.relative(target, containerPath));
  }
  return undefined;
}

/** The npm packages a source file needs at run time, following its relative imports (type-only ones aside). */
function packagesImportedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(root(file), 'utf8');
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm),
      ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((m) => m[1]!);
    for (const spec of specifiers) {
      if (spec.startsWith('.')) visit(posix.join(posix.dirname(file), spec));
      else if (!spec.startsWith('node:'))
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return packages;
}

const configArg = (c: ComposeService) => {
  const args = c.command ?? [];
  const i = args.indexOf('--config');
  return i >= 0 ? args[i + 1] : undefined;
};

describe('docker-compose.yml on its own', () => {
  it('gives every service a healthcheck, unless it is a one-shot or a probe-less trace viewer', () => {
    const probeless = SERVICES.filter((s) => !s.composeProbe).map((s) => s.composeName);
    expect(probeless).toEqual(['jaeger']);
    for (const [name, c] of entries) {
      if (c.healthcheck) expect(c.healthcheck.test.length, name).toBeGreaterThan(1);
      else expect(isOneShot(name) || probeless.includes(name), `${name} has no healthcheck`).toBe(true);
    }
  });

  it('waits for health wherever the dependency has a healthcheck', () => {
    for (const [name, c] of entries) {
      for (const [dep, { condition }] of Object.entries(c.depends_on ?? {})) {
        const target = services[dep];
        expect(target, `${name} depends on unknown ${dep}`).toBeDefined();
        const expected = target?.healthcheck
          ? 'service_healthy'
          : isOneShot(dep)
            ? 'service_completed_successfully'
            : 'service_started';
        expect(condition, `${name} → ${dep}`).toBe(expected);
      }
    }
  });

  it('builds from contexts and Dockerfiles that exist', () => {
    const built = entries.filter(([, c]) => c.build !== undefined);
    expect(built.length).toBeGreaterThan(0);
    for (const [name, c] of built) {
      const build = typeof c.build === 'string' ? { context: c.build } : (c.build ?? {});
      const context = root(build.context ?? '.');
      expect(statSync(context).isDirectory(), `${name}: build context ${context}`).toBe(true);
      const dockerfile = join(context, build.dockerfile ?? 'Dockerfile');
      expect(existsSync(dockerfile), `${name}: ${dockerfile} (the image of every node service)`).toBe(true);
    }
  });

  it('mounts host paths that exist', () => {
    for (const [name, c] of entries)
      for (const v of c.volumes ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(root(source)), `${name}: ${source}`).toBe(true);
      }
  });

  it('runs compiled files whose imports the image installs', () => {
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const [name, c] of entries) {
      if (c.build === undefined) continue;
      const build = typeof c.build === 'string' ? { context: c.build } : c.build;
      const dockerfile = readFileSync(root(build.context ?? '.', build.dockerfile ?? 'Dockerfile'), 'utf8');
      // An image installed with --omit=dev has the production dependencies only.
      const installed = new Set(Object.keys(pkg.dependencies));
      if (!/npm ci[^\n]*--omit=dev/.test(dockerfile))
        for (const dev of Object.keys(pkg.devDependencies)) installed.add(dev);
      const named = JSON.stringify([c.entrypoint, c.command, c.environment]);
      const started = [...named.matchAll(/\/app\/dist\/([\w/.-]+)\.js/g)].map((m) => `${m[1]}.ts`);
      const proxy = configArg(c) !== undefined ? ['src/main.ts'] : [];
      for (const entry of [...started, ...proxy])
        for (const dep of packagesImportedBy(entry))
          expect(
            installed.has(dep),
            `${name}: ${entry} imports ${dep}, which its image does not install`,
          ).toBe(true);
    }
  });

  it('runs compiled files whose sources exist and are part of the build', () => {
    const build = JSON.parse(readFileSync(root('tsconfig.build.json'), 'utf8')) as { include: string[] };
    const text = readFileSync(root('docker-compose.yml'), 'utf8');
    const compiled = [...text.matchAll(/\/app\/dist\/([\w/.-]+)\.js/g)].map((m) => m[1]!);
    expect(compiled.length).toBeGreaterThan(0);
    for (const path of new Set(compiled)) {
      expect(existsSync(root(`${path}.ts`)), `${path}.ts`).toBe(true);
      expect(build.include, `${path} is compiled into the image`).toContain(path.split('/')[0]);
    }
  });

  it('publishes each host port once', () => {
    const hostPorts = entries.flatMap(([, c]) => (c.ports ?? []).map((p) => String(p).split(':').at(-2)));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('names config files that exist and pass the config loader with the environment compose sets', async () => {
    const proxies = entries.filter(([, c]) => configArg(c) !== undefined);
    expect(proxies.map(([name]) => name).sort()).toEqual(['core', 'edge']);
    for (const [name, c] of proxies) {
      const file = hostPathOf(c, configArg(c)!);
      expect(file, `${name}: ${configArg(c)} is not under a bind mount`).toBeDefined();
      const result = await readConfigFile(file!, c.environment ?? {});
      expect(result.ok ? [] : result.problems, `${name}: ${file}`).toEqual([]);
    }
  });
});

describe('docker-compose.yml and npm run lab', () => {
  it('have the same services (Jaeger standing in for the lab’s trace receiver)', () => {
    expect(Object.keys(services).sort()).toEqual(SERVICES.map((s) => s.composeName).sort());
    const traces = byTopology(SERVICES.find((s) => s.run.kind === 'traces')!);
    expect(traces.image).toMatch(/^jaegertracing\//);
    expect(traces.environment?.COLLECTOR_OTLP_ENABLED).toBe('true');
  });

  it('listen on the same container ports', () => {
    for (const s of SERVICES) expect(containerPorts(byTopology(s)), s.name).toContain(String(s.port));
  });

  it('run the same commands with the same environment', () => {
    for (const s of SERVICES) {
      if (s.run.kind === 'traces') continue;
      const c = byTopology(s);
      const expected = composeCommand(s);
      expect(c.command, `${s.name} command`).toEqual(expected.command);
      expect(c.entrypoint, `${s.name} entrypoint`).toEqual(expected.entrypoint);
      expect(c.environment ?? {}, `${s.name} environment`).toEqual(s.env(COMPOSE_CONTEXT));
    }
  });

  it('depend on the same services, probed the same way', () => {
    for (const s of SERVICES) {
      const c = byTopology(s);
      const expected = Object.fromEntries(
        s.dependsOn.map((d) => {
          const dep = SERVICES.find((x) => x.name === d)!;
          return [dep.composeName, { condition: dep.composeProbe ? 'service_healthy' : 'service_started' }];
        }),
      );
      expect(c.depends_on ?? {}, `${s.name} depends_on`).toEqual(expected);
      expect(c.healthcheck?.test, `${s.name} healthcheck`).toEqual(composeHealthcheck(s));
    }
  });

  it('use config files that also load with the environment of the local lab', async () => {
    const ctx = localContext({ stateDir: '/tmp/mcp-fed-lab-test' });
    for (const s of SERVICES) {
      if (s.run.kind !== 'proxy') continue;
      const result = await readConfigFile(root(s.run.config), s.env(ctx));
      expect(result.ok ? [] : result.problems, s.run.config).toEqual([]);
      if (result.ok) expect(result.config.listen.port, s.name).toBe(s.port);
      expect(configArg(byTopology(s))).toBe(`/${s.run.config}`);
    }
  });

  it('start local scripts that exist, from the npm script the docs name', () => {
    const ctx = localContext({ stateDir: '/tmp/mcp-fed-lab-test' });
    for (const s of SERVICES) {
      const { args } = localCommand(s, ctx, { spansFile: '/tmp/spans.jsonl' });
      const script = args.find((a) => /\.(ts|js)$/.test(a) && !a.startsWith('/'));
      if (s.run.kind !== 'redis')
        expect(existsSync(root(script ?? '(none)')), `${s.name}: ${script}`).toBe(true);
    }
    expect(existsSync(ctx.contentServer)).toBe(true);
    const pkg = JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.lab).toContain('scripts/lab.ts');
  });
});
