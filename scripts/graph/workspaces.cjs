// The workspaces as the repository declares them: the root package.json's `workspaces`
// globs, each folder's package.json, and the README's package diagram (its tiers). The
// graph check (.dependency-cruiser.cjs) derives its rules from these, so the diagram and
// the package.json files stay the one definition of the package graph.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

/** The private workspaces that the diagram leaves out: the tests' shared helpers and the install test. */
const HELPERS = ['@farmer/test-utils', '@farmer/install-test'];

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every workspace under `root`: `{ name, dir, pkg }`, `dir` relative to `root` with forward slashes. */
function workspaces(root) {
  const globs = readJson(join(root, 'package.json')).workspaces;
  const dirs = globs.flatMap((g) =>
    g.endsWith('/*')
      ? readdirSync(join(root, g.slice(0, -2)), { withFileTypes: true })
          .filter((e) => e.isDirectory() && existsSync(join(root, g.slice(0, -2), e.name, 'package.json')))
          .map((e) => `${g.slice(0, -2)}/${e.name}`)
      : [g],
  );
  return dirs.map((dir) => {
    const pkg = readJson(join(root, dir, 'package.json'));
    return { name: pkg.name, dir, pkg };
  });
}

/** The names a package.json declares in `fields` (dependencies, devDependencies, ...). */
function declared(pkg, fields) {
  return fields.flatMap((f) => Object.keys(pkg[f] ?? {}));
}

/** What shipped code may import: runtime dependencies of every kind. */
const RUNTIME_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];
/** What tests, build scripts and configs may import besides. */
const ALL_FIELDS = [...RUNTIME_FIELDS, 'devDependencies'];

/**
 * The README's package diagram, bottom tier first, as package names: the line
 * `{ core, model-… } ← { flow, train, models } ← ... ← apps/{cli, server, playground}`.
 */
function readmeTiers(root) {
  const line = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .find((l) => /^(\{ )?core[ ,].* ← /.test(l));
  if (!line) throw new Error('README.md has no package diagram line starting with "core ← " or "{ core, "');
  return line.split(' ← ').map((tier) => {
    const apps = /^apps\/\{(.*)\}$/.exec(tier.trim());
    const names = apps ? apps[1] : tier.replace(/[{}]/g, '');
    return names.split(',').map((p) => `@farmer/${p.trim()}`);
  });
}

/**
 * Where each import specifier of a workspace package lives in source: the package's
 * `exports` map `./dist/NAME.js` read as `src/NAME.ts` or `src/NAME/index.ts` (tsup's
 * entries), other targets (`./package.json`) as they are. Absolute paths, keyed
 * `SPECIFIER$` (an exact match, as enhanced-resolve's alias reads it).
 */
function sourceAliases(root) {
  const alias = {};
  for (const { name, dir, pkg } of workspaces(root)) {
    for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
      const file = typeof target === 'string' ? target : (target.import?.default ?? target.default);
      const spec = sub === '.' ? name : `${name}/${sub.slice(2)}`;
      const built = /^\.\/dist\/(.+)\.js$/.exec(file ?? '');
      if (!built) {
        alias[`${spec}$`] = join(root, dir, file);
        continue;
      }
      const candidates = [`src/${built[1]}.ts`, `src/${built[1]}/index.ts`].map((c) => join(root, dir, c));
      const source = candidates.find((c) => existsSync(c));
      if (!source) throw new Error(`${dir}/package.json exports ${sub} as ${file}, but neither ${candidates.join(' nor ')} exists`);
      alias[`${spec}$`] = source;
    }
  }
  return alias;
}

module.exports = { HELPERS, RUNTIME_FIELDS, ALL_FIELDS, workspaces, declared, readmeTiers, sourceAliases };
