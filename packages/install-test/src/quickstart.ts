/** A README's quickstart: an ES module (`js quickstart`) or bash lines (`sh quickstart`). */
export interface Quickstart {
  kind: 'js' | 'sh';
  code: string;
}

/** What a README says about its quickstart: the block, or why there is none that can run. */
export interface QuickstartFinding {
  quickstart?: Quickstart;
  /** True when the README has a `## Quickstart` heading or a block marked `quickstart`. */
  present: boolean;
  problems: string[];
}

interface Block {
  info: string;
  code: string;
  line: number;
  /** The `##` section (level 1 or 2 heading) the block sits in. */
  section?: string;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;

/** Fenced code blocks and level-1/2 headings of a Markdown text, in order (headings inside blocks are code). */
function scan(markdown: string): { blocks: Block[]; headings: { title: string; line: number }[] } {
  const lines = markdown.split(/\r?\n/);
  const blocks: Block[] = [];
  const headings: { title: string; line: number }[] = [];
  let section: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (open && !(open[2][0] === '`' && open[3].includes('`'))) {
      const [, indent, fence] = open;
      const body: string[] = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const close = FENCE.exec(lines[j]);
        if (close && close[2][0] === fence[0] && close[2].length >= fence.length && close[3].trim() === '') break;
        body.push(indent ? lines[j].replace(new RegExp(`^ {0,${indent.length}}`), '') : lines[j]);
      }
      blocks.push({ info: open[3].trim(), code: body.join('\n'), line: i + 1, section });
      i = j;
      continue;
    }
    const h = HEADING.exec(lines[i]);
    if (h && h[1].length <= 2) {
      section = h[1].length === 2 ? h[2] : undefined;
      headings.push({ title: `${h[1]} ${h[2]}`, line: i + 1 });
    }
  }
  return { blocks, headings };
}

/**
 * Finds a README's quickstart: a `## Quickstart` section holding exactly one
 * fenced block whose info string is `js quickstart` or `sh quickstart`
 * (other blocks may sit beside it). Anything else marked `quickstart`, a
 * second such block or section, or a block outside the section is a
 * problem, so a README cannot carry a quickstart that is never run.
 */
export function findQuickstart(readme: string): QuickstartFinding {
  const { blocks, headings } = scan(readme);
  const sections = headings.filter((h) => h.title === '## Quickstart');
  const marked = blocks.filter((b) => b.info.split(/\s+/).includes('quickstart'));
  const present = sections.length > 0 || marked.length > 0;
  const problems: string[] = [];
  if (sections.length === 0) problems.push('no "## Quickstart" section');
  if (sections.length > 1) problems.push(`${sections.length} "## Quickstart" sections (lines ${sections.map((s) => s.line).join(', ')}); keep one`);
  for (const b of marked) {
    if (!/^(js|sh) quickstart$/.test(b.info.replace(/\s+/g, ' '))) problems.push(`the block at line ${b.line} is marked '${b.info}'; a quickstart block is marked 'js quickstart' or 'sh quickstart'`);
    else if (b.section !== 'Quickstart') problems.push(`the quickstart block at line ${b.line} is outside the "## Quickstart" section`);
  }
  const valid = marked.filter((b) => /^(js|sh) quickstart$/.test(b.info.replace(/\s+/g, ' ')) && b.section === 'Quickstart');
  if (sections.length > 0 && marked.length === 0) problems.push('the "## Quickstart" section has no block marked \'js quickstart\' or \'sh quickstart\'');
  if (valid.length > 1) problems.push(`${valid.length} quickstart blocks (lines ${valid.map((b) => b.line).join(', ')}); keep one`);
  if (problems.length > 0) return { present, problems };
  const [b] = valid;
  if (b.code.trim() === '') return { present, problems: [`the quickstart block at line ${b.line} is empty`] };
  return { present, problems, quickstart: { kind: b.info.startsWith('js') ? 'js' : 'sh', code: b.code } };
}

/** The file a package's quickstart is written to in the user's project: `quickstart-core.mjs` for `@farmer/core`. */
export function quickstartFileName(packageName: string, kind: Quickstart['kind']): string {
  return `quickstart-${packageName.replace(/^@[^/]+\//, '').replace(/[^A-Za-z0-9._-]/g, '-')}.${kind === 'js' ? 'mjs' : 'sh'}`;
}
