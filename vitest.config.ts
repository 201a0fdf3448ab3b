import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores: files run two at a time, each integration file in its own database and prefix.
    maxWorkers: 2,
    // The JSON report lets .ci/run print one closing "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['packages/*/src/**/*.int.test.ts', 'services/*/src/**/*.int.test.ts', 'tests/**/*.int.test.ts'],
          // The resilience suite is its own project (`pnpm test:resilience`): minutes of faults.
          exclude: ['tests/resilience/**', '**/node_modules/**'],
          globalSetup: ['tests/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'resilience',
          include: ['tests/resilience/**/*.int.test.ts'],
          // One file at a time: each runs the services as processes and kills things on a schedule;
          // two at once on two cores would make "a moment when the service is working" a lottery.
          fileParallelism: false,
          globalSetup: ['tests/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
