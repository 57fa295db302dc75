import os from 'node:os';
import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests (*.itg.test.ts) start real local parts (the Debian registry, a
// release mirror, the bundle as the runner runs it), each on its own ports and temporary directories, so files run
// side by side: on a 2-core machine that halves the suite. The two long single-process checks that share nothing with
// the integration files (the SARIF Multitool validation, .NET, one run over every file, and the dist/ freshness
// build, ncc --minify) are a project of their own with a long time limit. Vitest's default of one worker per core but
// one leaves a 2-core machine running a single file at a time: use all.
const SARIF_VALIDATION = '__tests__/report/sarif.itg.test.ts';
const DIST_FRESHNESS = '__tests__/project/dist.itg.test.ts';

export default defineConfig({
  test: {
    maxWorkers: Math.max(os.availableParallelism(), 2),
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
          fileParallelism: true,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'long-checks',
          include: [SARIF_VALIDATION, DIST_FRESHNESS],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
