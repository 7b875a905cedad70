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
 * by apps only.
 */

interface Workspace {
  name: string;
  dir: string;
  dependencies: string[];
  devDependencies: string[];
}

const root = repoRoot();

function workspaces(): Workspace[] {
  return ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => {
        const dir = `${group}/${e.name}`;
        const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
        const farmer = (k: string) => Object.keys((pkg[k] as Record<string, string> | undefined) ?? {}).filter((d) => d.startsWith('@farmer/'));
        return { name: pkg.name as string, dir, dependencies: [...farmer('dependencies'), ...farmer('peerDependencies')], devDependencies: farmer('devDependencies') };
      }),
  );
}

/** Tiers of the README's diagram line `core ← { flow, train } ← ... ← apps/{cli, server}`, bottom first. */
function readmeTiers(): string[][] {
  const line = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('core ← '));
  if (!line) throw new Error('README.md has no package diagram line starting with "core ← "');
  return line.split(' ← ').map((tier) => {
    const apps = /^apps\/\{(.*)\}$/.exec(tier.trim());
    if (apps) return apps[1].split(',').map((a) => `@farmer/${a.trim()}`);
    return tier.replace(/[{}]/g, '').split(',').map((p) => `@farmer/${p.trim()}`);
  });
}

/** Files under a workspace's src/ and test/ that import `spec`. */
function importers(ws: Workspace, spec: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mts|cts|js|mjs)$/.test(e.name) && new RegExp(`from '${spec}['/]`).test(readFileSync(join(root, p), 'utf8'))) out.push(p);
    }
  };
  walk(`${ws.dir}/src`);
  walk(`${ws.dir}/test`);
  return out;
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

  it('the CLI imports nothing from the server but startServer', () => {
    const cli = all.find((w) => w.name === '@farmer/cli')!;
    const uses = importers(cli, '@farmer/server').map((f) => readFileSync(join(root, f), 'utf8').match(/import \{([^}]*)\} from '@farmer\/server'/g) ?? []);
    expect(uses.flat().map((u) => u.replace(/\s+/g, ' '))).toEqual(["import { startServer } from '@farmer/server'"]);
  });
});
