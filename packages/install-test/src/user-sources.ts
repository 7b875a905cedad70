/**
 * An ES module in TypeScript importing every given entry point, as a
 * user's code would: type-checked under `module`/`moduleResolution`
 * `nodenext`, it fails when an entry point has no types there (an `exports`
 * map without a `types` condition, a .d.ts left out of the tarball) or its
 * types do not compile.
 */
export function typeCheckModule(specifiers: readonly string[]): string {
  const imports = specifiers.map((s, i) => `import * as entry${i} from '${s}';`);
  return [
    '// Written by the install test: every typed entry point of the packed packages.',
    ...imports,
    '',
    `export const entryPoints: readonly object[] = [${specifiers.map((_, i) => `entry${i}`).join(', ')}];`,
    '',
  ].join('\n');
}

/** The user's tsconfig for {@link typeCheckModule}'s file: ESM under nodenext, strict, checking the packages' .d.ts too. */
export function typeCheckConfig(file: string, skipLibCheck: boolean): string {
  const compilerOptions = { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck, types: ['node'] };
  return `${JSON.stringify({ compilerOptions, files: [file] }, null, 2)}\n`;
}

/**
 * A CommonJS script that `require()`s every given entry point and prints,
 * as JSON, how many exports each has (an entry that throws ends it).
 */
export function requireScript(specifiers: readonly string[]): string {
  return [
    "'use strict';",
    '// Written by the install test: every CommonJS entry point of the packed packages.',
    `const specifiers = ${JSON.stringify(specifiers)};`,
    'const exportsOf = {};',
    'for (const s of specifiers) exportsOf[s] = Object.keys(require(s)).length;',
    'console.log(JSON.stringify(exportsOf));',
    '',
  ].join('\n');
}
