import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // End-to-end builds share two cores and one cache: run files one at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    reporters: ['default', './tests/summary-reporter.ts'],
  },
});
