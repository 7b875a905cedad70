import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { ICruiseResult, IViolation } from 'dependency-cruiser';
import { repoRoot } from './repo-root.js';

const checkout = repoRoot();

/** The graph check's config: the rules, generated from the README diagram and the package.json files. */
export const GRAPH_CONFIG = join(checkout, '.dependency-cruiser.cjs');
/** Violations the check knows of and tolerates for now, each with a comment saying which work removes it. */
export const KNOWN_VIOLATIONS = join(checkout, '.dependency-cruiser-known-violations.json');

/** A workspace as scripts/graph/workspaces.cjs lists it. */
export interface Workspace {
  name: string;
  /** Folder relative to the checkout, forward slashes. */
  dir: string;
  pkg: Record<string, unknown>;
}

/** scripts/graph/workspaces.cjs: the one reading of the workspaces and the README diagram that the rules are made from. */
export const graphWorkspaces = createRequire(import.meta.url)(join(checkout, 'scripts/graph/workspaces.cjs')) as {
  HELPERS: string[];
  RUNTIME_FIELDS: string[];
  ALL_FIELDS: string[];
  workspaces(root: string): Workspace[];
  declared(pkg: Record<string, unknown>, fields: string[]): string[];
  readmeTiers(root: string): string[][];
};

/**
 * Runs dependency-cruiser with the graph check's config over `dirs` of the
 * repository at `root` (the checkout, or a throwaway one made by a test), as
 * `npm run graph` does but without ignoring the known violations: the cruise
 * result, every module with its dependencies and every violation.
 */
export function cruise(root: string = checkout, dirs: string[] = ['packages', 'apps']): ICruiseResult {
  const bin = join(checkout, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const run = spawnSync(process.execPath, [bin, ...dirs, '--config', GRAPH_CONFIG, '--no-ignore-known', '--output-type', 'json'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  // Exit codes: 0 clean, the number of errors otherwise; no JSON means the check itself failed.
  if (!run.stdout.startsWith('{')) throw new Error(`dependency-cruiser failed (exit ${run.status}): ${run.stderr || run.stdout}`);
  return JSON.parse(run.stdout) as ICruiseResult;
}

/** One line per violation: `rule: from → to`, with the whole circle for a cycle. */
export function describeViolation(v: IViolation): string {
  const path = v.cycle ? [v.from, ...v.cycle.map((c) => c.name)].join(' → ') : `${v.from} → ${v.to}`;
  return `${v.rule.name}: ${path}`;
}

/** The known violations, described as {@link describeViolation} does. */
export function knownViolations(): string[] {
  return (JSON.parse(readFileSync(KNOWN_VIOLATIONS, 'utf8')) as IViolation[]).map(describeViolation);
}
