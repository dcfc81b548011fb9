import { defineConfig } from 'vitest/config';

/** `npm run test:interop`: the interop matrix of real upstream processes (test/interop/MATRIX.md). */
export default defineConfig({
  test: {
    include: ['test/interop/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
