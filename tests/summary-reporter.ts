import fs from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the plain "N passed, N failed, N skipped" closing line CI reads. With
 * REPROLAB_TEST_TOTALS set (tests/run.sh runs the unit and e2e parts apart), it
 * also appends the counts there, so the script can close with the sum of both.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
    if (process.env.REPROLAB_TEST_TOTALS) fs.appendFileSync(process.env.REPROLAB_TEST_TOTALS, `${passed} ${failed} ${skipped}\n`);
  }
}
