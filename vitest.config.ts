import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/gpu/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Native sessions and large kernels: keep two workers (CI has 2 cores).
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
