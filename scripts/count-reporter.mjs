// Vitest reporter that records pass/fail counts for scripts/test.mjs to sum.
// A module that fails to load, and every unhandled error, counts as one failure.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export default class CountReporter {
  onInit(vitest) {
    this.root = vitest.config.root;
  }
  onTestRunEnd(testModules, unhandledErrors) {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      let seen = 0;
      for (const test of mod.children.allTests()) {
        seen++;
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (seen === 0 && mod.state() === 'failed') failed++;
    }
    failed += unhandledErrors.length;
    const dir = resolve(process.env.FARMER_TEST_RESULTS ?? join(this.root, '..', '..', '.test-results'));
    mkdirSync(dir, { recursive: true });
    const name = this.root.split(/[\\/]/).slice(-2).join('-');
    writeFileSync(join(dir, `${name}.json`), JSON.stringify({ name, passed, failed, skipped }));
  }
}
