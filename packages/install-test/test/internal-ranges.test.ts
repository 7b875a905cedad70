import { describe, expect, it } from 'vitest';
import { internalRangeProblems } from '../src/internal-ranges.js';

describe('internalRangeProblems', () => {
  const core = { name: '@farmer/core', version: '0.1.0' };
  it('accepts ranges the packed versions satisfy, and ignores outside packages and devDependencies', () => {
    const flow = { name: '@farmer/flow', version: '0.1.0', dependencies: { '@farmer/core': '^0.1.0', zod: '^4.1.0' }, devDependencies: { '@farmer/test-utils': '*' } };
    expect(internalRangeProblems([core, flow], ['@farmer/test-utils'])).toEqual([]);
    expect(internalRangeProblems([{ ...core, version: '0.0.0' }, { ...flow, dependencies: { '@farmer/core': '*' } }])).toEqual([]);
  });

  it('names a range the packed version misses, a bad range, and a dependency on a private workspace', () => {
    const flow = { name: '@farmer/flow', version: '0.1.0', dependencies: { '@farmer/core': '^0.2.0' }, optionalDependencies: { '@farmer/test-utils': '*' }, peerDependencies: { '@farmer/core': 'latest' } };
    expect(internalRangeProblems([core, flow], ['@farmer/test-utils'])).toEqual([
      '@farmer/flow 0.1.0 asks for @farmer/core ^0.2.0 in dependencies, but the packed @farmer/core is 0.1.0',
      '@farmer/flow 0.1.0 lists the private workspace @farmer/test-utils in optionalDependencies; it is never published',
      "@farmer/flow 0.1.0 asks for @farmer/core 'latest' in peerDependencies, which is not a semver range",
    ]);
  });
});
