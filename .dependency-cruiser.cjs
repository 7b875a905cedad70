// The graph check (dependency-cruiser): the package graph of the README's diagram and the
// package.json files, checked at the level of files. `npm run graph` prints its report;
// packages/core/test/package-graph.test.ts runs it in `npm test`. Rules that name
// workspaces are generated from scripts/graph/workspaces.cjs, so the diagram and the
// package.json files stay their one definition.
const { join } = require('node:path');
const { ALL_FIELDS, HELPERS, RUNTIME_FIELDS, declared, readmeTiers, workspaces } = require('./scripts/graph/workspaces.cjs');

const root = process.cwd();
const all = workspaces(root).filter((w) => !w.dir.startsWith('models/'));
const tiers = readmeTiers(root);
const tierOf = new Map(tiers.flatMap((names, t) => names.map((n) => [n, t])));
const appsTier = tiers.length - 1;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TEST_FILE = '\\.test\\.[cm]?[jt]sx?$';
/**
 * A bundled workspace (the playground) ships a built page and no module: nothing imports
 * it at run time, so its build bundles its devDependencies and none of its code is shipped.
 */
const bundled = (w) => !w.pkg.main && !w.pkg.bin && !(w.pkg.exports && '.' in w.pkg.exports);
/** A workspace's shipped code: src/ without its tests. */
const shipped = (w) => ({ path: `^${escape(w.dir)}/src/`, pathNot: TEST_FILE });
/** Everything else of a workspace: tests, build scripts, configs; all of a bundled one. */
const devCode = (w) => ({ path: bundled(w) ? `^${escape(w.dir)}/` : `^${escape(w.dir)}/(?:(?!src/)|src/.*${TEST_FILE})` });
/** Any file of the workspaces `ws`. */
const filesOf = (ws) => ({ path: `^(?:${ws.map((w) => escape(w.dir)).join('|')})/` });

/** For each workspace: rule `name` forbids arrows `from(w)` → any workspace `bad(w, x)` says. */
function perWorkspace(name, comment, list, from, bad) {
  return list.flatMap((w) => {
    const targets = all.filter((x) => x !== w && bad(w, x));
    return targets.length === 0 ? [] : [{ name, comment: `${w.name}: ${comment}`, severity: 'error', from: from(w), to: filesOf(targets) }];
  });
}

const modules = all.filter((w) => !bundled(w));
const drawn = all.filter((w) => tierOf.has(w.name));
const helpers = all.filter((w) => HELPERS.includes(w.name));
const below = (w, x) => (tierOf.get(x.name) ?? Infinity) < tierOf.get(w.name) || (tierOf.get(w.name) === appsTier && tierOf.get(x.name) === appsTier);

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'A file reaches itself through its imports (type-only imports count).', severity: 'error', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', comment: 'An import that resolves to no file.', severity: 'error', from: {}, to: { couldNotResolve: true } },
    { name: 'no-non-package-json', comment: 'An npm package that neither the nearest package.json nor the root one declares.', severity: 'error', from: {}, to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] } },
    { name: 'not-to-dev-dep', comment: 'Shipped code (src/, tests aside) imports a devDependency, which users do not install.', severity: 'error', from: { path: `^(?:${modules.map((w) => escape(w.dir)).join('|')})/src/`, pathNot: TEST_FILE }, to: { dependencyTypes: ['npm-dev'] } },
    ...perWorkspace('undeclared-workspace', 'shipped code imports a workspace its package.json does not list in dependencies', modules, shipped, (w, x) => !declared(w.pkg, RUNTIME_FIELDS).includes(x.name)),
    ...perWorkspace('undeclared-workspace', 'a test or script imports a workspace its package.json does not list', all, devCode, (w, x) => !declared(w.pkg, ALL_FIELDS).includes(x.name)),
    ...perWorkspace('package-arrows-point-down', 'shipped code imports only packages below it in the README diagram (apps may use each other)', drawn, shipped, (w, x) => !below(w, x)),
    ...perWorkspace('test-arrows-not-up', 'tests and scripts import no package above their own tier of the README diagram', drawn, devCode, (w, x) => tierOf.has(x.name) && tierOf.get(x.name) > tierOf.get(w.name)),
    ...perWorkspace('helpers-on-core-only', 'a private test helper builds on @farmer/core only', helpers, shipped, (w, x) => x.name !== '@farmer/core'),
    {
      name: 'only-apps-import-distill',
      comment: 'The distillation trainer is for the apps: export and inference never need it (the student lives in @farmer/flow).',
      severity: 'error',
      from: { path: '^packages/', pathNot: '^packages/distill/' },
      to: { path: '^packages/distill/' },
    },
    {
      name: 'cli-reaches-server-through-serve',
      comment: 'The CLI runs the server in `farmer serve` and uses nothing else of it.',
      severity: 'error',
      from: { path: '^apps/cli/', pathNot: '^apps/cli/src/commands/serve\\.ts$' },
      to: { path: '^apps/server/' },
    },
    {
      name: 'no-command-imports-command',
      comment: 'A CLI command imports no other command: shared helpers live in modules that are not commands.',
      severity: 'error',
      from: { path: '^apps/cli/src/commands/' },
      to: { path: '^apps/cli/src/commands/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // A workspace may use what it declares and what the root package.json declares (vitest,
    // tsup, vite: the repository's tools, installed for every workspace).
    combinedDependencies: true,
    exclude: { path: '^(packages|apps)/[^/]+/dist/' },
    // Type-only imports are arrows too: a type-only circle still ties two files together.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: join(__dirname, 'tsconfig.base.json') },
    webpackConfig: { fileName: join(__dirname, 'scripts/graph/workspace-sources.cjs') },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
