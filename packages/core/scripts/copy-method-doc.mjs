#!/usr/bin/env node
// Copies the repository's docs/method.md (the one source) into this package's docs/,
// so the published @farmer/core carries the method that the code comments cite
// (`docs/method.md §N.M title`). Run by `build` and `prepack`; docs/ here is git-ignored.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(pkg, '..', '..', 'docs', 'method.md');
mkdirSync(join(pkg, 'docs'), { recursive: true });
copyFileSync(source, join(pkg, 'docs', 'method.md'));
