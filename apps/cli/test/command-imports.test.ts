import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * No command imports another (issue 29): what commands share lives in
 * modules that are not commands (src/sampling/, src/model-options.ts, …),
 * and the program composes the commands (eval's subcommand groups too).
 */
const COMMANDS = join(__dirname, '..', 'src', 'commands');

describe('the CLI commands', () => {
  it('import no other command', () => {
    const imports = readdirSync(COMMANDS)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join(COMMANDS, f), 'utf8').matchAll(/from '(\.\/[^']+)'/g)].map((m) => `${f} → ${m[1]}`));
    expect(imports).toEqual([]);
  });
});
