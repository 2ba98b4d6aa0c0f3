import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Setup hooks build sandbox projects, refresh them and start servers and a browser: on a
    // busy 2-core CI machine (every package's tests run at once) that can take well over 10 s.
    hookTimeout: 120_000,
  },
});
