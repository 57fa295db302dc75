import { defineConfig } from 'vitest/config';

// Benchmarks print figures; they are never run by `npm test` and never assert on time.
export default defineConfig({
  test: { include: ['bench/**/*.bench.ts'], testTimeout: 600_000, fileParallelism: false },
});
