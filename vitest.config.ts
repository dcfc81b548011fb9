import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // The interop matrix runs on its own (`npm run test:interop`): it starts dozens of real processes
    // and must not share two CPUs with the rest of the suite.
    exclude: ['test/interop/**', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
