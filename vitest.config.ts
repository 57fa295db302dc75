import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests (*.itg.test.ts) start real local parts (the Debian registry, a
// release mirror, the bundle as the runner runs it) and run one file at a time. The SARIF Multitool validation is
// slow and CPU-bound in its own process, so it is a project of its own and runs beside the integration files.
const SARIF_VALIDATION = '__tests__/report/sarif.itg.test.ts';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['__tests__/**/*.test.ts'],
          exclude: ['__tests__/**/*.itg.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['__tests__/**/*.itg.test.ts'],
          exclude: [SARIF_VALIDATION],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'sarif-validation',
          include: [SARIF_VALIDATION],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
