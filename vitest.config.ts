import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests (*.itg.test.ts) start real local parts
// (the Debian registry, a release mirror, the bundle as the runner runs it) and run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['__tests__/**/*.test.ts'], exclude: ['__tests__/**/*.itg.test.ts'] },
      },
      {
        test: {
          name: 'integration',
          include: ['__tests__/**/*.itg.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
