import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { functionLengths, type FunctionLength } from './function-lengths.js';
import { repoRoot } from './repo-root.js';

/** The longest a function of shipped code may be, in lines (issue 29; docs/style.md: small pure functions). */
const MAX_LINES = 100;

/**
 * Functions over the limit that another part of issue 29 splits: the schema
 * part splits the worker's `startWorker`. A test below fails once one is
 * short enough, so that it is removed here.
 */
const PENDING_SPLIT: string[] = [];

const root = repoRoot();
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const TEST_FILE = /\.test\.[cm]?[jt]sx?$/;

/** The shipped source files of packages/* and apps/*: everything under each src/ but the tests. */
function shippedSources(): string[] {
  const walk = (rel: string): string[] =>
    readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'dist' ? [] : walk(p);
      return SOURCE.test(e.name) && !TEST_FILE.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
    });
  return ['packages', 'apps'].flatMap((group) =>
    readdirSync(join(root, group), { withFileTypes: true })
      .filter((e) => e.isDirectory() && readdirSync(join(root, group, e.name)).includes('src'))
      .flatMap((e) => walk(`${group}/${e.name}/src`)),
  );
}

/** `where` without the line number, so that an entry of PENDING_SPLIT survives edits above the function. */
const withoutLine = (f: FunctionLength) => f.where.replace(/:\d+ /, ' ');

describe(`no function of packages/*/src or apps/*/src is longer than ${MAX_LINES} lines`, () => {
  const all = shippedSources()
    .flatMap((f) => functionLengths(join(root, f)).map((x) => ({ ...x, where: x.where.slice(root.length + 1) })))
    .sort((a, b) => b.lines - a.lines);

  it('measures every function: the five longest', () => {
    expect(all.length).toBeGreaterThan(1000);
    console.log(`the five longest functions:\n${all.slice(0, 5).map((f) => `  ${f.lines} lines  ${f.where}`).join('\n')}`);
  });

  it(`none is longer than ${MAX_LINES} lines (but the ones another part of issue 29 splits)`, () => {
    expect(all.filter((f) => f.lines > MAX_LINES && !PENDING_SPLIT.includes(withoutLine(f))).map((f) => `${f.where}: ${f.lines} lines`)).toEqual([]);
  });

  it('every function waiting to be split is still too long: the split ones are removed from PENDING_SPLIT', () => {
    const long = new Set(all.filter((f) => f.lines > MAX_LINES).map(withoutLine));
    expect(PENDING_SPLIT.filter((p) => !long.has(p))).toEqual([]);
  });

  it('counts a function from its first line to its closing brace, nested functions in their parents too', () => {
    const body = Array.from({ length: 99 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `export function long(): void {\n${body}\n}\nclass K {\n  m() {\n    return () => 1;\n  }\n}\nconst f = function () {};\n`;
    expect(functionLengths('x.ts', text)).toEqual([
      { where: 'x.ts:1 long', lines: 101 },
      { where: 'x.ts:103 K.m', lines: 3 },
      { where: 'x.ts:104 (anonymous)', lines: 1 },
      { where: 'x.ts:107 f', lines: 1 },
    ]);
  });
});
