import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/globalSetup.ts'],
    // Native addons are safest in child processes (one addon instance per fork).
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
