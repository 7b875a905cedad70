import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutRoot } from '../src/checkout-root.js';
import { holdsFile, referencedFiles, requireEntrySpecifiers, typedEntrySpecifiers } from '../src/entry-points.js';
import { internalRangeProblems } from '../src/internal-ranges.js';
import type { PackageManifest } from '../src/package-manifest.js';
import { packWorkspaces, type PackedPackage } from '../src/pack.js';
import { findQuickstart, quickstartFileName } from '../src/quickstart.js';
import { describeRun, killGroup, runCommand, type CommandResult } from '../src/run-command.js';
import { startServerCommand } from '../src/server-probe.js';
import { isInside, npmrcKeys, userEnv } from '../src/user-env.js';
import { requireScript, typeCheckConfig, typeCheckModule } from '../src/user-sources.js';
import { publicWorkspaces, workspaces } from '../src/workspaces.js';

/**
 * What a user does with the published packages, on the tarballs `npm pack`
 * makes: install them into a fresh project outside the checkout (no
 * workspace, no FARMER_MODELS_DIR, no .npmrc of ours, no access to NuGet),
 * run `farmer demo` and `farmer serve`, run every README's quickstart as
 * the README inside the tarball prints it, type-check TypeScript against the
 * packages and require() their CommonJS entries. The steps share one
 * project and run in order.
 */

const root = checkoutRoot();
const published = publicWorkspaces(root);
const privateNames = workspaces(root)
  .filter((w) => w.manifest.private === true)
  .map((w) => w.manifest.name);

/** The largest tarball npm takes comfortably (the issue's limit). */
const MAX_TARBALL_BYTES = 40 * 1024 * 1024;
const MINUTE = 60_000;

// An unreachable proxy for onnxruntime-node's install script (it reads global-agent's variables):
// the install runs as on a machine without access to api.nuget.org, wherever the test runs.
const NO_NUGET = { GLOBAL_AGENT_HTTP_PROXY: 'http://127.0.0.1:9', GLOBAL_AGENT_HTTPS_PROXY: 'http://127.0.0.1:9' };

let work = '';
let project = '';
let packed: PackedPackage[] = [];
let env: NodeJS.ProcessEnv = {};
let install: CommandResult | undefined;
const timings: [string, number][] = [];

function timed<T>(step: string, f: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  return f().finally(() => {
    const s = (Date.now() - t0) / 1000;
    timings.push([step, s]);
    console.log(`[install-test] ${step}: ${s.toFixed(1)} s`);
  });
}

/** Runs a command in the user's project (no shell). */
function inProject(cmd: string, args: string[], timeoutMs: number, extra: Record<string, string> = {}): Promise<CommandResult> {
  return runCommand(cmd, args, { cwd: project, env: { ...env, ...extra }, timeoutMs });
}

function installedManifest(name: string): PackageManifest {
  return JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8')) as PackageManifest;
}

function decodePng(bytes: Buffer): { width: number; height: number } {
  const png = PNG.sync.read(bytes);
  return { width: png.width, height: png.height };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'farmer-install-'));
  project = join(work, 'project');
  mkdirSync(join(work, 'tarballs'));
  mkdirSync(project);
  const checkoutNpmrc = join(root, '.npmrc');
  // farmer's export cache (XDG_CACHE_HOME/farmer) goes into the temp folder too, not the machine's.
  env = userEnv(process.env, root, { ...NO_NUGET, XDG_CACHE_HOME: join(work, 'cache') }, npmrcKeys(existsSync(checkoutNpmrc) ? readFileSync(checkoutNpmrc, 'utf8') : ''));
  console.log(`[install-test] ${published.length} public packages; working in ${work}`);
  packed = await timed('npm pack', () => packWorkspaces(root, published, join(work, 'tarballs'), process.env));
}, 15 * MINUTE);

afterAll(() => {
  if (packed.length) {
    console.log('[install-test] tarballs:');
    for (const p of packed) console.log(`  ${p.name}@${p.version}  ${(p.size / 1e6).toFixed(2)} MB packed, ${(p.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${p.files.length} files`);
  }
  console.log(`[install-test] times: ${timings.map(([s, t]) => `${s} ${t.toFixed(1)} s`).join('; ')}; total ${timings.reduce((a, [, t]) => a + t, 0).toFixed(1)} s`);
  if (work) rmSync(work, { recursive: true, force: true, maxRetries: 3 });
});

describe('the tarballs', () => {
  it('one per public workspace (from the root package.json workspaces), each under 40 MB', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(published.map((w) => w.manifest.name).sort());
    const big = packed.filter((p) => p.size > MAX_TARBALL_BYTES).map((p) => `${p.name}: ${(p.size / 2 ** 20).toFixed(1)} MiB`);
    expect(big, 'tarballs over 40 MiB').toEqual([]);
  });

  it('hold every file their package.json names (main, module, types, bin, exports), a README and a LICENSE', () => {
    const missing: string[] = [];
    for (const p of packed) {
      const manifest = published.find((w) => w.manifest.name === p.name)!.manifest;
      for (const f of referencedFiles(manifest)) if (!holdsFile(p.files, f)) missing.push(`${p.name}: ${f} is not in the tarball (check "files" in its package.json, and that it was built)`);
      for (const f of ['README.md', 'LICENSE']) if (!p.files.includes(f)) missing.push(`${p.name}: no ${f} (npm packs it from the package's folder; add one there)`);
    }
    expect(missing).toEqual([]);
  });

  it('satisfy each other: every internal dependency range holds the packed version', () => {
    expect(internalRangeProblems(published.map((w) => w.manifest), privateNames)).toEqual([]);
  });
});

describe("a user's project with the tarballs installed", () => {
  beforeAll(async () => {
    const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageManifest;
    const typescript = rootManifest.devDependencies?.typescript;
    const typesNode = (JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as PackageManifest).version;
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'farmer-user', version: '1.0.0', private: true }, null, 2)}\n`);
    // A TypeScript user's project: the tarballs, with the checkout's pinned TypeScript and Node types.
    const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packed.map((p) => p.tarball), `typescript@${typescript}`, `@types/node@${typesNode}`];
    install = await timed('npm install (tarballs)', () => inProject('npm', args, 15 * MINUTE));
  }, 16 * MINUTE);

  it('installs outside the checkout with no .npmrc of ours and no NuGet: npm leaves out onnxruntime-node, whose script fails', () => {
    expect(isInside(root, project)).toBe(false);
    expect(install!.code, describeRun(install!)).toBe(0);
    expect(existsSync(join(project, '.npmrc'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', 'onnxruntime-node'))).toBe(false);
    // Each package once, at the packed version: a range the tarballs miss would have npm fetch a
    // published one (or fail on a 404), and the nested copy would show here.
    for (const p of packed) expect(installedManifest(p.name).version, p.name).toBe(p.version);
    const nested = readdirSync(join(project, 'node_modules'), { recursive: true, withFileTypes: false })
      .map(String)
      .filter((f) => /(^|\/)node_modules\/@farmer$/.test(f));
    expect(nested, 'nested copies of @farmer packages').toEqual([]);
  });

  let ortInstall = '';

  it('npx farmer demo: on tfjs, saying why and how to install onnxruntime-node; writes samples.png and a sane test bits/dim', async () => {
    const r = await timed('npx farmer demo (tfjs)', () => inProject('npx', ['--no-install', 'farmer', 'demo'], 10 * MINUTE));
    expect(r.code, describeRun(r)).toBe(0);
    const notice = /running on tfjs: onnxruntime-node is not installed .*`(ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@\S+)`/.exec(r.stderr);
    expect(notice, `no fallback notice naming the install command:\n${describeRun(r)}`).not.toBeNull();
    ortInstall = notice![1];
    const size = decodePng(readFileSync(join(project, 'samples.png')));
    expect(size.width).toBeGreaterThan(0);
    expect(size.height).toBeGreaterThan(0);
    const bpd = /test bits\/dim (\S+) ± /.exec(r.stdout);
    expect(bpd, describeRun(r)).not.toBeNull();
    const value = Number(bpd![1]);
    expect(Number.isFinite(value)).toBe(true);
    // Above 0.5 and below 8 (uniform noise over 256 levels): a model that learnt something.
    expect(value).toBeGreaterThan(0.5);
    expect(value).toBeLessThan(8);
  }, 11 * MINUTE);

  it("the notice's command installs onnxruntime-node for the CPU (no NuGet), and farmer then runs on onnxruntime", async () => {
    expect(ortInstall, 'the demo printed no install command').not.toBe('');
    const r = await timed('npm install onnxruntime-node', () => inProject('bash', ['-euo', 'pipefail', '-c', `${ortInstall} --no-audit --no-fund --prefer-offline`], 10 * MINUTE));
    expect(r.code, describeRun(r)).toBe(0);
    const s = await timed('npx farmer sample (onnxruntime)', () => inProject('npx', ['--no-install', 'farmer', 'sample', '--count', '1', '--out', 'one.png', '--json'], 5 * MINUTE));
    expect(s.code, describeRun(s)).toBe(0);
    const result = JSON.parse(s.stdout) as { runtime: string; fallback?: string };
    expect([result.runtime, result.fallback]).toEqual(['onnxruntime', undefined]);
    decodePng(readFileSync(join(project, 'one.png')));
  }, 16 * MINUTE);

  it('npx farmer serve on a free port: /v1/models lists the built-ins, generate returns a PNG, /playground/ serves the page; SIGTERM ends it', async () => {
    const builtins = packed.map((p) => /^@farmer\/model-(.+)$/.exec(p.name)?.[1]).filter((n): n is string => n !== undefined);
    const t0 = Date.now();
    const server = await startServerCommand('npx', ['--no-install', 'farmer', 'serve', '--port', '0'], {
      cwd: project,
      env,
      urlPattern: /serving \d+ model\(s\) at (http:\/\/[^\s]+) \(/,
      timeoutMs: 5 * MINUTE,
    });
    try {
      let models: { name: string; status: string }[] = [];
      for (let i = 0; i < 600; i++) {
        models = ((await (await fetch(`${server.url}/v1/models`)).json()) as { models: { name: string; status: string }[] }).models;
        if (models.every((m) => m.status !== 'loading')) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(builtins.length, 'no @farmer/model-* package was packed').toBeGreaterThan(0);
      expect(models.map((m) => [m.name, m.status]).sort()).toEqual(expect.arrayContaining(builtins.map((n) => [n, 'ready'])));

      const gen = await fetch(`${server.url}/v1/models/${builtins[0]}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ count: 1, seed: 1, format: 'png' }) });
      expect(gen.status, await gen.clone().text()).toBe(200);
      expect(gen.headers.get('content-type')).toMatch(/^image\/png/);
      decodePng(Buffer.from(await gen.arrayBuffer()));

      const page = await fetch(`${server.url}/playground/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toMatch(/<html/i);

      // To the process group, as a terminal sends Ctrl-C or a hang-up: npx passes its own SIGTERM
      // to `sh -c farmer`, which dies without passing it on, leaving the server running.
      killGroup(server.child.pid, 'SIGTERM');
      const end = await Promise.race([server.exited.then(() => 'ended'), new Promise<string>((r) => setTimeout(() => r('still running'), MINUTE))]);
      expect(end, server.output().slice(-4000)).toBe('ended');
      expect(server.output()).toMatch(/^server stopped$/m);
    } finally {
      killGroup(server.child.pid, 'SIGKILL');
      timings.push(['npx farmer serve', (Date.now() - t0) / 1000]);
    }
  }, 12 * MINUTE);

  it.each(published.map((w) => [w.manifest.name, w.dir] as const))("%s: the README's quickstart runs as written", async (name, dir) => {
    const readmePath = join(project, 'node_modules', name, 'README.md');
    expect(existsSync(readmePath), `${name} has no README.md in its tarball`).toBe(true);
    const found = findQuickstart(readFileSync(readmePath, 'utf8'));
    // Model data packages (models/*) may go without one; every other package has one.
    if (!found.present && dir.startsWith('models/')) return;
    expect(found.problems, `${name} README.md`).toEqual([]);
    const { kind, code } = found.quickstart!;
    const file = quickstartFileName(name, kind);
    writeFileSync(join(project, file), `${code}\n`);
    const r = await timed(`quickstart ${name}`, () => (kind === 'js' ? inProject(process.execPath, [file], 5 * MINUTE) : inProject('bash', ['-euo', 'pipefail', file], 5 * MINUTE)));
    expect(r.code, describeRun(r)).toBe(0);
  }, 6 * MINUTE);

  it('TypeScript (ESM, nodenext, the pinned version) type-checks a file importing every typed entry point', async () => {
    const specifiers = packed.flatMap((p) => typedEntrySpecifiers(installedManifest(p.name)));
    expect(specifiers.length).toBeGreaterThan(1);
    writeFileSync(join(project, 'check.mts'), typeCheckModule(specifiers));
    writeFileSync(join(project, 'tsconfig.json'), typeCheckConfig('check.mts', true));
    const r = await timed('tsc', () => inProject('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'], 5 * MINUTE));
    expect(r.code, describeRun(r)).toBe(0);
  }, 6 * MINUTE);

  it('require() loads every CommonJS entry point from a .cjs file', async () => {
    const specifiers = packed.flatMap((p) => requireEntrySpecifiers(installedManifest(p.name)));
    expect(specifiers.length).toBeGreaterThan(1);
    writeFileSync(join(project, 'check.cjs'), requireScript(specifiers));
    const r = await timed('require()', () => inProject(process.execPath, ['check.cjs'], 5 * MINUTE));
    expect(r.code, describeRun(r)).toBe(0);
    const exportsOf = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
    expect(Object.entries(exportsOf).filter(([, n]) => n === 0)).toEqual([]);
  }, 6 * MINUTE);
});
