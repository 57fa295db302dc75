import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests (*.itg.test.ts) start real local parts (the Debian registry, a
// release mirror, the bundle as the runner runs it) and run one file at a time. Two checks are long single processes
// that share nothing with the integration files: the SARIF Multitool validation (.NET, one run over every file) and
// the dist/ freshness check (an ncc build with --minify). They are a project of their own, one after the other, so on
// a 2-core machine they keep the second core busy beside the serial integration files instead of queueing in them.
const SARIF_VALIDATION = '__tests__/report/sarif.itg.test.ts';
const DIST_FRESHNESS = '__tests__/project/dist.itg.test.ts';

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
          exclude: [SARIF_VALIDATION, DIST_FRESHNESS],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'long-checks',
          include: [SARIF_VALIDATION, DIST_FRESHNESS],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
