import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './repo-root.js';

/**
 * The package graph as the README draws it, checked against every
 * workspace's package.json and imports: packages depend downward only (a
 * package's `dependencies` point to lower tiers, its test-only
 * `devDependencies` to lower tiers or its own; apps may use each other),
 * no package depends on an app, and the distillation trainer is imported
 * by apps only. The built-in models' data packages (models/NAME) sit in the
 * bottom tier with core and hold no code and no dependency; @farmer/models,
 * the one package that names them, depends on core at most.
 */

interface Workspace {
  name: string;
  dir: string;
  dependencies: string[];
  devDependencies: string[];
  /** The whole package.json. */
  pkg: Record<string, unknown>;
}

const root = repoRoot();

/** The workspace folders of the root package.json: `group/*` globs and explicit folders. */
function workspaceDirs(): string[] {
  const globs = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
  return globs.flatMap((g) =>
    g.endsWith('/*')
      ? readdirSync(join(root, g.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => `${g.slice(0, -2)}/${e.name}`)
      : [g],
  );
}

function workspaces(): Workspace[] {
  return workspaceDirs().map((dir) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
    const farmer = (k: string) => Object.keys((pkg[k] as Record<string, string> | undefined) ?? {}).filter((d) => d.startsWith('@farmer/'));
    return { name: pkg.name as string, dir, dependencies: [...farmer('dependencies'), ...farmer('peerDependencies')], devDependencies: farmer('devDependencies'), pkg };
  });
}

/** Files under `rel` (recursively, node_modules and dist aside) whose name matches `re`. */
function filesUnder(rel: string, re: RegExp): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : filesUnder(p, re);
    return re.test(e.name) ? [p] : [];
  });
}

/** Tiers of the README's diagram line `{ core, model-… } ← { flow, train, models } ← ... ← apps/{cli, server}`, bottom first. */
function readmeTiers(): string[][] {
  const line = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .find((l) => /^(\{ )?core[ ,].* ← /.test(l));
  if (!line) throw new Error('README.md has no package diagram line starting with "core ← " or "{ core, "');
  return line.split(' ← ').map((tier) => {
    const apps = /^apps\/\{(.*)\}$/.exec(tier.trim());
    if (apps) return apps[1].split(',').map((a) => `@farmer/${a.trim()}`);
    return tier.replace(/[{}]/g, '').split(',').map((p) => `@farmer/${p.trim()}`);
  });
}

const SOURCE = /\.(ts|mts|cts|js|mjs)$/;

/** Files under a workspace's src/ and test/ that import `spec`. */
function importers(ws: Workspace, spec: string): string[] {
  return [...filesUnder(`${ws.dir}/src`, SOURCE), ...filesUnder(`${ws.dir}/test`, SOURCE)].filter((p) => new RegExp(`from '${spec}['/]`).test(readFileSync(join(root, p), 'utf8')));
}

describe('the package graph', () => {
  const all = workspaces();
  const tiers = readmeTiers();
  const tierOf = new Map(tiers.flatMap((names, t) => names.map((n) => [n, t] as const)));
  // Private workspaces that are not in the diagram: the tests' shared helpers, and the install test (it packs the others).
  const helpers = new Set(['@farmer/test-utils', '@farmer/install-test']);

  it('the README diagram names every workspace exactly once (test helpers aside)', () => {
    const drawn = tiers.flat();
    expect(new Set(drawn).size).toBe(drawn.length);
    expect([...drawn].sort()).toEqual(all.map((w) => w.name).filter((n) => !helpers.has(n)).sort());
  });

  it('dependencies point down the diagram, devDependencies no higher than their own tier; helpers depend on core only', () => {
    const problems: string[] = [];
    for (const w of all) {
      if (helpers.has(w.name)) {
        for (const d of w.dependencies) if (d !== '@farmer/core') problems.push(`${w.name} (a test helper) depends on ${d}`);
        continue;
      }
      const own = tierOf.get(w.name)!;
      // Apps sit side by side at the top: the CLI runs the server (through startServer, checked below).
      const below = (d: string) => (tierOf.get(d) ?? Infinity) < own || (own === tiers.length - 1 && tierOf.get(d) === own);
      for (const d of w.dependencies) if (!below(d)) problems.push(`${w.name} depends on ${d}, which is not below it in the README diagram`);
      for (const d of w.devDependencies) if (!helpers.has(d) && !((tierOf.get(d) ?? Infinity) <= own)) problems.push(`${w.name} has a devDependency on ${d}, above it in the README diagram`);
    }
    expect(problems).toEqual([]);
  });

  it('no package depends on an app; no package but the trainer itself imports @farmer/distill, and neither onnx nor runtime depends on it', () => {
    const apps = new Set(all.filter((w) => w.dir.startsWith('apps/')).map((w) => w.name));
    const problems: string[] = [];
    for (const w of all.filter((x) => x.dir.startsWith('packages/'))) {
      for (const d of [...w.dependencies, ...w.devDependencies]) if (apps.has(d)) problems.push(`${w.name} depends on the app ${d}`);
      if (w.name !== '@farmer/distill') problems.push(...importers(w, '@farmer/distill').map((f) => `${f} imports @farmer/distill`));
      if (['@farmer/onnx', '@farmer/runtime'].includes(w.name) && [...w.dependencies, ...w.devDependencies].includes('@farmer/distill')) problems.push(`${w.name} depends on @farmer/distill`);
    }
    expect(problems).toEqual([]);
  });

  it('the CLI imports nothing from the server but startServer and its command line (serverCommand, serverCliOptions)', () => {
    const cli = all.find((w) => w.name === '@farmer/cli')!;
    // `farmer serve` is the server's bin in the CLI's process: it starts the server and reads the server's own flags.
    const allowed = new Set(['startServer', 'serverCommand', 'serverCliOptions', 'ServerCliOptions']);
    const names = importers(cli, '@farmer/server').flatMap((f) =>
      [...readFileSync(join(root, f), 'utf8').matchAll(/import (?:type )?\{([^}]*)\} from '@farmer\/server'/g)].flatMap((m) => m[1].split(',').map((n) => n.trim().replace(/^type /, ''))),
    );
    expect(names.filter((n) => n && !allowed.has(n))).toEqual([]);
    expect(names).toContain('startServer');
  });

  it('the model data packages (models/NAME) hold no code and have no dependency; @farmer/models depends on core at most and alone names them', () => {
    const data = all.filter((w) => w.dir.startsWith('models/'));
    expect(data.map((w) => w.name).sort()).toEqual(['@farmer/model-fashion-small', '@farmer/model-mnist-small']);
    const problems: string[] = [];
    for (const w of data) {
      for (const k of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies', 'main', 'module', 'exports', 'bin', 'scripts']) if (k in w.pkg) problems.push(`${w.name} has "${k}"`);
      problems.push(...filesUnder(w.dir, /\.(ts|mts|cts|js|mjs|cjs)$/).map((f) => `${w.name} holds code: ${f}`));
      if (tierOf.get(w.name) !== 0) problems.push(`${w.name} is not drawn in the bottom tier`);
    }
    const models = all.find((w) => w.name === '@farmer/models')!;
    if (models.dependencies.some((d) => d !== '@farmer/core') || models.devDependencies.some((d) => !helpers.has(d) && d !== '@farmer/core')) problems.push(`@farmer/models depends on ${[...models.dependencies, ...models.devDependencies].join(', ')}`);
    if (tierOf.get('@farmer/models') !== tierOf.get('@farmer/flow')) problems.push('@farmer/models is not drawn beside flow and train');
    // The packages' names are @farmer/models' knowledge: no other source spells them.
    for (const w of all.filter((x) => x.name !== '@farmer/models' && !x.dir.startsWith('models/'))) {
      problems.push(...filesUnder(`${w.dir}/src`, SOURCE).filter((f) => readFileSync(join(root, f), 'utf8').includes('@farmer/model-')).map((f) => `${f} names a model package`));
    }
    expect(problems).toEqual([]);
  });
});
