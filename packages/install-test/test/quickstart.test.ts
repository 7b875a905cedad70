import { describe, expect, it } from 'vitest';
import { findQuickstart, quickstartFileName } from '../src/quickstart.js';

const readme = (section: string) => `# @farmer/x\n\nWhat it is.\n\n## Install\n\n\`\`\`sh\nnpm install @farmer/x\n\`\`\`\n\n${section}\n## API\n\n\`\`\`js\nnot run\n\`\`\`\n`;

describe('findQuickstart', () => {
  it('takes the one block marked js quickstart or sh quickstart from the ## Quickstart section, beside other blocks', () => {
    const js = findQuickstart(readme("## Quickstart\n\nRun it:\n\n```js quickstart\nimport { a } from '@farmer/x';\nconsole.log(a);\n```\n\n```sh\nnode quickstart-x.mjs\n```\n"));
    expect(js).toEqual({ present: true, problems: [], quickstart: { kind: 'js', code: "import { a } from '@farmer/x';\nconsole.log(a);" } });
    const sh = findQuickstart(readme('## Quickstart\n\n~~~~sh quickstart\nnpx farmer sample --count 4 --out four.png\n```\nstill code\n~~~~\n'));
    expect(sh.quickstart).toEqual({ kind: 'sh', code: 'npx farmer sample --count 4 --out four.png\n```\nstill code' });
  });

  it('names what is wrong: no section, no marked block, a second one, a wrong marker, a block outside the section', () => {
    expect(findQuickstart(readme(''))).toEqual({ present: false, problems: ['no "## Quickstart" section'] });
    expect(findQuickstart(readme('## Quickstart\n\n```js\nx\n```\n')).problems).toEqual(["the \"## Quickstart\" section has no block marked 'js quickstart' or 'sh quickstart'"]);
    expect(findQuickstart(readme('## Quickstart\n\n```js quickstart\na\n```\n\n```sh quickstart\nb\n```\n')).problems).toEqual(['2 quickstart blocks (lines 13, 17); keep one']);
    expect(findQuickstart(readme('## Quickstart\n\n```ts quickstart\na\n```\n')).problems).toEqual(["the block at line 13 is marked 'ts quickstart'; a quickstart block is marked 'js quickstart' or 'sh quickstart'"]);
    const outside = findQuickstart(readme('## Usage\n\n```js quickstart\na\n```\n'));
    expect(outside).toEqual({ present: true, problems: ['no "## Quickstart" section', 'the quickstart block at line 13 is outside the "## Quickstart" section'] });
    expect(findQuickstart(readme('## Quickstart\n\n```js quickstart\n```\n')).problems).toEqual(['the quickstart block at line 13 is empty']);
  });

  it('a "## Quickstart" line inside a code block is code, and ### headings stay in the section', () => {
    const r = findQuickstart('# x\n\n```md\n## Quickstart\n```\n\n## Quickstart\n\n### With the CLI\n\n```sh quickstart\nnpx farmer demo\n```\n');
    expect(r.quickstart).toEqual({ kind: 'sh', code: 'npx farmer demo' });
  });

  it('names the file after the package, without its scope', () => {
    expect(quickstartFileName('@farmer/core', 'js')).toBe('quickstart-core.mjs');
    expect(quickstartFileName('@farmer/model-mnist-small', 'sh')).toBe('quickstart-model-mnist-small.sh');
  });
});
