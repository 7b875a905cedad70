// Shared vitest settings: each package's vitest.config.ts calls this so that
// `vitest run` inside a package and `nx run-many -t test` behave the same.
import { fileURLToPath } from 'node:url';

const reporter = fileURLToPath(new URL('./scripts/count-reporter.mjs', import.meta.url));

export function packageTestConfig(overrides = {}) {
  return {
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      reporters: ['default', reporter],
      testTimeout: 120_000,
      hookTimeout: 120_000,
      pool: 'forks',
      passWithNoTests: true,
      ...overrides,
    },
  };
}
