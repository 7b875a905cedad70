import { describeRun, runCommand } from './run-command.js';
import type { Workspace } from './workspaces.js';

/** One tarball, as `npm pack --json` describes it. */
export interface PackedPackage {
  name: string;
  version: string;
  /** The tarball's path. */
  tarball: string;
  /** Packed (gzipped) bytes. */
  size: number;
  unpackedSize: number;
  /** The paths inside the package. */
  files: string[];
}

interface NpmPackEntry {
  name: string;
  version: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/**
 * `npm pack` of the given workspaces, from the checkout root, into `dest`:
 * what `npm publish` would upload (its lifecycle scripts included).
 */
export async function packWorkspaces(root: string, list: readonly Workspace[], dest: string, env: NodeJS.ProcessEnv): Promise<PackedPackage[]> {
  const r = await runCommand('npm', ['pack', '--json', '--pack-destination', dest, ...list.flatMap((w) => ['--workspace', w.dir])], { cwd: root, env, timeoutMs: 10 * 60_000 });
  if (r.code !== 0) throw new Error(`npm pack failed: ${describeRun(r)}`);
  const entries = trailingJsonArray(r.stdout) as NpmPackEntry[];
  return entries.map((e) => ({ name: e.name, version: e.version, tarball: `${dest}/${e.filename}`, size: e.size, unpackedSize: e.unpackedSize, files: e.files.map((f) => f.path) }));
}

/** The JSON array that ends `text` (lifecycle scripts may print before it). */
function trailingJsonArray(text: string): unknown[] {
  for (const m of text.matchAll(/^\[/gm)) {
    try {
      const v: unknown = JSON.parse(text.slice(m.index));
      if (Array.isArray(v)) return v;
    } catch {
      // Not where the JSON starts: try the next line that opens with '['.
    }
  }
  throw new Error(`npm pack printed no JSON list: ${text.slice(-2000)}`);
}
