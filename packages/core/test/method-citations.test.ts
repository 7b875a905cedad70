import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './repo-root.js';

/**
 * Every `§` in the repository's sources must cite docs/method.md in one fixed
 * form, `docs/method.md §N.M <title>`, where <title> is the start of that
 * section's heading (case-insensitive). A renumbered or retitled section
 * therefore fails here instead of leaving citations that point elsewhere.
 * Citations of documents that are not in the repository fail too.
 */

const DOC = 'docs/method.md';
const PREFIX = `${DOC} `;
const SELF = 'packages/core/test/method-citations.test.ts';

/** Where citations are checked: package and app sources and tests, bench, scripts, READMEs. */
const SCOPE = [/^packages\/[^/]+\/(src|test)\//, /^apps\/[^/]+\/(src|test)\//, /^bench\//, /^scripts\//, /^(packages\/[^/]+\/|apps\/[^/]+\/|models\/)?README\.md$/];
const EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs|py|md)$/;

/** Documents that live outside the repository; nothing in scope may cite them. */
const OUTSIDE = [/method doc/i, /farmer-method/i, /runtime-notes/i, /shared\/docs/i, /supplement/i];

/**
 * Files that another change is moving or rewriting while this test landed;
 * their citations are listed for rewriting in that change. Each entry must
 * still exist and still hold an old citation: once it is fixed (or moved),
 * this test fails until the entry is deleted, so the list can only shrink.
 */
const PENDING: Record<string, string> = {};

interface Section {
  number: string;
  title: string;
  level: number;
  line: number;
}

/** The numbered headings of the method doc: `## 4 Title`, `### 4.2 Title`, ... */
function parseSections(markdown: string): Map<string, Section> {
  const out = new Map<string, Section>();
  markdown.split('\n').forEach((text, i) => {
    const m = /^(#{2,6}) (\d+(?:\.\d+)*) (\S.*?)\s*$/.exec(text);
    if (!m) return;
    const number = m[2];
    if (out.has(number)) throw new Error(`${DOC}:${i + 1}: section §${number} is numbered twice`);
    out.set(number, { number, title: m[3], level: m[1].length, line: i + 1 });
  });
  return out;
}

/** Structural problems of the numbering: wrong heading depth, a missing parent, gaps. */
function numberingProblems(sections: Map<string, Section>): string[] {
  const problems: string[] = [];
  const nextChild = new Map<string, number>();
  for (const s of sections.values()) {
    const parts = s.number.split('.');
    if (s.level !== parts.length + 1) problems.push(`${DOC}:${s.line}: §${s.number} needs a heading of level ${parts.length + 1}, has ${s.level}`);
    const parent = parts.slice(0, -1).join('.');
    if (parent && !sections.has(parent)) problems.push(`${DOC}:${s.line}: §${s.number} has no parent §${parent}`);
    const want = (nextChild.get(parent) ?? 0) + 1;
    if (Number(parts[parts.length - 1]) !== want) problems.push(`${DOC}:${s.line}: §${s.number} follows §${parent ? `${parent}.` : ''}${want - 1}; expected §${parent ? `${parent}.` : ''}${want}`);
    nextChild.set(parent, Number(parts[parts.length - 1]));
  }
  return problems;
}

/** Problems of one line: each `§` must be a valid citation; no outside document may be named. */
function lineProblems(line: string, sections: Map<string, Section>): string[] {
  const problems: string[] = [];
  for (const re of OUTSIDE) if (re.test(line)) problems.push(`cites a document outside the repository (${re.source}); cite ${DOC} instead`);
  for (let at = line.indexOf('§'); at >= 0; at = line.indexOf('§', at + 1)) {
    if (line.slice(Math.max(0, at - PREFIX.length), at) !== PREFIX) {
      problems.push(`'§' at column ${at + 1} is not in the form '${DOC} §N.M <title>'`);
      continue;
    }
    const m = /^§(\d+(?:\.\d+)*) /.exec(line.slice(at));
    if (!m) {
      problems.push(`'${line.slice(at, at + 12)}…' is not '§N.M <title>'`);
      continue;
    }
    const s = sections.get(m[1]);
    if (!s) {
      problems.push(`§${m[1]} does not exist in ${DOC}`);
      continue;
    }
    const rest = line.slice(at + m[0].length);
    const titled = rest.slice(0, s.title.length).toLowerCase() === s.title.toLowerCase() && !/^[\p{L}\p{N}]/u.test(rest.slice(s.title.length));
    if (!titled) problems.push(`§${m[1]} is titled '${s.title}' in ${DOC}, but the citation reads '§${m[1]} ${rest.slice(0, s.title.length + 8)}…'`);
  }
  return problems;
}

/** Repository files (tracked, plus new ones not ignored) as root-relative paths with '/'. */
function repoFiles(root: string): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
    return [...new Set(out.split('\0').filter(Boolean))].filter((f) => existsSync(join(root, f)));
  } catch {
    // No git (an unpacked tarball): walk the tree instead.
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', 'dist', '.git', '.nx'].includes(e.name)) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(relative(root, p).split(sep).join('/'));
      }
    };
    walk(root);
    return files;
  }
}

const root = repoRoot();
const sections = parseSections(readFileSync(join(root, DOC), 'utf8'));
const inScope = repoFiles(root).filter((f) => EXTENSIONS.test(f) && SCOPE.some((re) => re.test(f)) && !f.split('/').includes('node_modules') && !f.split('/').includes('dist'));

function problemsOf(file: string): string[] {
  return readFileSync(join(root, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => lineProblems(line, sections).map((p) => `${file}:${i + 1}: ${p}`));
}

describe(`${DOC} citations`, () => {
  it(`${DOC} has well-formed numbered sections`, () => {
    expect(sections.size).toBeGreaterThan(40);
    expect(numberingProblems(sections)).toEqual([]);
  });

  it('every § in the sources cites an existing section by number and title, and no outside document is cited', () => {
    const checked = inScope.filter((f) => f !== SELF && !(f in PENDING));
    const problems = checked.flatMap(problemsOf);
    expect(problems.join('\n')).toBe('');
    // A scan that silently found nothing would pass the line above.
    expect(checked.length).toBeGreaterThan(150);
    const citations = checked.reduce((n, f) => n + (readFileSync(join(root, f), 'utf8').match(/docs\/method\.md §/g)?.length ?? 0), 0);
    expect(citations).toBeGreaterThan(80);
  });

  it('every pending exemption still exists and still needs exempting', () => {
    for (const [file, why] of Object.entries(PENDING)) {
      expect(existsSync(join(root, file)), `${file} (${why}) is gone: delete it from PENDING and check where its citations went`).toBe(true);
      expect(problemsOf(file).length, `${file} (${why}) has no old citation left: delete it from PENDING`).toBeGreaterThan(0);
    }
  });

  it('rejects a heading at the wrong depth, a gap and a missing parent in the numbering', () => {
    const md = ['## 1 One', '### 1.1 A', '### 1.3 C', '## 2 Two', '#### 2.1 Deep', '### 4.1 Orphan'].join('\n');
    const problems = numberingProblems(parseSections(md)).join('\n');
    expect(problems).toMatch(/§1\.3 follows §1\.1; expected §1\.2/);
    expect(problems).toMatch(/§2\.1 needs a heading of level 3/);
    expect(problems).toMatch(/§4\.1 has no parent §4/);
    expect(() => parseSections('## 1 A\n## 1 B')).toThrow(/numbered twice/);
  });

  it('rejects a wrong number, a wrong title, a loose form and an outside document', () => {
    const ok = (line: string) => expect(lineProblems(line, sections)).toEqual([]);
    const bad = (line: string, what: RegExp) => expect(lineProblems(line, sections).join('\n')).toMatch(what);
    ok('// the joint NLL (docs/method.md §5.1 joint loss): per image');
    ok(' * [docs/method.md §9.2 Weight Names](docs/method.md#92-weight-names)');
    bad('// (docs/method.md §5.9 joint loss)', /does not exist/);
    bad('// (docs/method.md §5.2 joint loss)', /titled 'Bits per dim'/);
    bad('// (docs/method.md §5.1 joint losses)', /titled 'Joint loss'/);
    bad('// (docs/method.md §5.1)', /not '§N.M <title>'|titled/);
    bad('// (method doc §4)', /outside the repository/);
    bad('// (see §5.1 joint loss)', /not in the form/);
    bad('// as in the supplement, Algorithm 2', /outside the repository/);
    bad('// measured in runtime-notes.md', /outside the repository/);
  });
});
