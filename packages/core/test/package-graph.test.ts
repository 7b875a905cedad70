import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ICruiseResult, IModule } from 'dependency-cruiser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cruise, describeViolation, graphWorkspaces, knownViolations, type Workspace } from './graph-check.js';
import { repoRoot } from './repo-root.js';

/**
 * The architecture, kept by the graph check: dependency-cruiser with the rules
 * of .dependency-cruiser.cjs, made from the README's package diagram and the
 * package.json files (scripts/graph/workspaces.cjs), over every file of
 * packages/ and apps/. It forbids circular imports (type-only ones too),
 * arrows up the diagram, imports of undeclared packages, devDependencies in
 * shipped code, @farmer/distill outside the apps, the server in the CLI
 * outside `farmer serve`, and CLI commands importing each other. The tests
 * below add what imports cannot show: declared dependencies that nothing
 * uses, the diagram naming every workspace, and the model data packages.
 */

const root = repoRoot();
const { HELPERS, RUNTIME_FIELDS, ALL_FIELDS, workspaces, declared, readmeTiers } = graphWorkspaces;

const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

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

/** The package an import specifier names (`@scope/name` or `name`), or null for a relative or node: one. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  return specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/** The packages the modules `ms` import. */
function imported(ms: IModule[]): Set<string> {
  return new Set(ms.flatMap((m) => m.dependencies.map((d) => packageOf(d.module)).filter((p): p is string => p !== null)));
}

/** Whether some of the files `ms` spell `name` as a string (`'mnist/package.json'`, a name to load at run time). */
function named(ms: IModule[], name: string): boolean {
  const quoted = new RegExp(`(['"\`])${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/[^'"\`]*)?\\1`);
  return ms.some((m) => quoted.test(readFileSync(join(root, m.source), 'utf8')));
}

/**
 * Declared dependencies that another part of issue 29 puts to use: the schema
 * part makes @farmer/sampling own the generate-options schema (zod), and the
 * server may derive its request schema with it. A test below fails once an
 * entry is used, so that it is removed here.
 */
const PENDING_UNUSED: Record<string, string[]> = {};

describe('the graph check (dependency-cruiser, .dependency-cruiser.cjs)', () => {
  let result: ICruiseResult;
  let known: string[];
  let found: string[];
  beforeAll(() => {
    result = cruise();
    known = knownViolations();
    found = result.summary.violations.map(describeViolation);
    const circles = result.summary.violations.filter((v) => v.rule.name === 'no-circular');
    console.log(
      `graph check: ${result.summary.totalCruised} modules, ${result.summary.totalDependenciesCruised} dependencies; ` +
        `${circles.filter((v) => !known.includes(describeViolation(v))).length} circular imports ` +
        `(${circles.filter((v) => known.includes(describeViolation(v))).length} known), ` +
        `${found.filter((f) => !known.includes(f)).length} violations (${found.filter((f) => known.includes(f)).length} known)`,
    );
  });

  it('finds no circular import among the files of packages/ and apps/ (type-only imports count)', () => {
    expect(result.summary.totalCruised).toBeGreaterThan(300);
    expect(found.filter((f) => f.startsWith('no-circular:') && !known.includes(f))).toEqual([]);
  });

  it('finds no violation of its rules but the known ones', () => {
    expect(found.filter((f) => !known.includes(f))).toEqual([]);
  });

  it('every known violation still occurs: the fixed ones are removed from .dependency-cruiser-known-violations.json', () => {
    expect(known.filter((k) => !found.includes(k))).toEqual([]);
  });

  it('every runtime dependency is used by shipped code, and every workspace devDependency by some file', () => {
    const all = workspaces(root);
    const data = new Set(all.filter((w) => w.dir.startsWith('models/')).map((w) => w.name));
    const problems: string[] = [];
    for (const w of all.filter((x) => !data.has(x.name))) {
      const own = result.modules.filter((m) => m.source.startsWith(`${w.dir}/`));
      const shipped = own.filter((m) => m.source.startsWith(`${w.dir}/src/`) && !TEST_FILE.test(m.source));
      const usedShipped = imported(shipped);
      const usedAll = imported(own);
      const pending = PENDING_UNUSED[w.name] ?? [];
      // The model data packages hold no code: @farmer/models finds them by name at run time.
      for (const d of declared(w.pkg, RUNTIME_FIELDS).filter((x) => !data.has(x))) {
        const used = usedShipped.has(d) || named(shipped, d);
        if (used && pending.includes(d)) problems.push(`${w.name} now uses ${d}: remove it from PENDING_UNUSED`);
        if (used || pending.includes(d)) continue;
        problems.push(usedAll.has(d) ? `${w.name} depends on ${d}, which only its tests or scripts use: make it a devDependency` : `${w.name} depends on ${d}, which nothing of it uses: remove it`);
      }
      for (const d of declared(w.pkg, ['devDependencies']).filter((x) => x.startsWith('@farmer/') && !data.has(x))) {
        if (!usedAll.has(d)) problems.push(`${w.name} has a devDependency on ${d}, which nothing of it imports: remove it`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the package diagram and the model data packages', () => {
  const all = workspaces(root);
  const tiers = readmeTiers(root);
  const tierOf = new Map(tiers.flatMap((names, t) => names.map((n) => [n, t] as const)));

  it('the README diagram names every workspace exactly once (test helpers aside)', () => {
    const drawn = tiers.flat();
    expect(new Set(drawn).size).toBe(drawn.length);
    expect([...drawn].sort()).toEqual(all.map((w) => w.name).filter((n) => !HELPERS.includes(n)).sort());
  });

  it('the model data packages (models/NAME) hold no code and have no dependency; @farmer/models depends on core at most and alone names them', () => {
    const data = all.filter((w) => w.dir.startsWith('models/'));
    expect(data.map((w) => w.name).sort()).toEqual(['@farmer/model-emoji-small', '@farmer/model-fashion-small', '@farmer/model-mnist-small']);
    const problems: string[] = [];
    for (const w of data) {
      for (const k of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies', 'main', 'module', 'exports', 'bin', 'scripts']) if (k in w.pkg) problems.push(`${w.name} has "${k}"`);
      problems.push(...filesUnder(w.dir, /\.(ts|mts|cts|js|mjs|cjs)$/).map((f) => `${w.name} holds code: ${f}`));
      if (tierOf.get(w.name) !== 0) problems.push(`${w.name} is not drawn in the bottom tier`);
    }
    const models = all.find((w) => w.name === '@farmer/models')!;
    const farmer = (x: Workspace, fields: string[]) => declared(x.pkg, fields).filter((d) => d.startsWith('@farmer/'));
    if (farmer(models, ALL_FIELDS).some((d) => d !== '@farmer/core' && !HELPERS.includes(d))) problems.push(`@farmer/models depends on ${farmer(models, ALL_FIELDS).join(', ')}`);
    if (tierOf.get('@farmer/models') !== tierOf.get('@farmer/flow')) problems.push('@farmer/models is not drawn beside flow and train');
    // The packages' names are @farmer/models' knowledge: no other source spells them.
    for (const w of all.filter((x) => x.name !== '@farmer/models' && !x.dir.startsWith('models/'))) {
      problems.push(...filesUnder(`${w.dir}/src`, SOURCE).filter((f) => readFileSync(join(root, f), 'utf8').includes('@farmer/model-')).map((f) => `${f} names a model package`));
    }
    expect(problems).toEqual([]);
  });
});

describe('the graph check on a throwaway repository', () => {
  let fixture: string;
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(fixture, rel)), { recursive: true });
    writeFileSync(join(fixture, rel), text);
  };
  const pkg = (name: string, dependencies: Record<string, string> = {}) => JSON.stringify({ name, type: 'module', exports: { '.': './dist/index.js' }, dependencies });

  beforeAll(() => {
    // core ← flow ← apps/{cli}, each importing the one below through its package name.
    fixture = mkdtempSync(join(tmpdir(), 'farmer-graph-'));
    write('package.json', JSON.stringify({ name: 'fixture', private: true, workspaces: ['packages/*', 'apps/*'] }));
    write('README.md', '```\ncore ← flow ← apps/{cli}\n```\n');
    write('packages/core/package.json', pkg('@farmer/core'));
    write('packages/core/src/index.ts', "export { a } from './a.js';\n");
    write('packages/core/src/a.ts', 'export const a = 1;\n');
    write('packages/flow/package.json', pkg('@farmer/flow', { '@farmer/core': '*' }));
    write('packages/flow/src/index.ts', "import { a } from '@farmer/core';\nexport const b = a + 1;\n");
    write('apps/cli/package.json', pkg('@farmer/cli', { '@farmer/flow': '*' }));
    write('apps/cli/src/index.ts', "import { b } from '@farmer/flow';\nexport const c = b + 1;\n");
  });
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('passes a sound graph, and fails on a circle and on an arrow up the diagram introduced on purpose', () => {
    expect(cruise(fixture).summary.violations.map(describeViolation)).toEqual([]);
    // A circle through a type-only import, and core importing flow (declared, so that only the arrow is wrong).
    write('packages/core/src/a.ts', "import type { B } from './b.js';\nexport const a = 1;\nexport type A = B;\n");
    write('packages/core/src/b.ts', "import { a } from './a.js';\nexport type B = typeof a;\n");
    write('packages/core/src/up.ts', "import { b } from '@farmer/flow';\nexport const up = b;\n");
    write('packages/core/package.json', pkg('@farmer/core', { '@farmer/flow': '*' }));
    const found = cruise(fixture).summary.violations.map(describeViolation);
    expect(found).toContain('no-circular: packages/core/src/a.ts → packages/core/src/b.ts → packages/core/src/a.ts');
    expect(found).toContain('package-arrows-point-down: packages/core/src/up.ts → packages/flow/src/index.ts');
    expect(found).toHaveLength(2);
  });
});
