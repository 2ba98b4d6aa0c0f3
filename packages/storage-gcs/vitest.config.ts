import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts fake-gcs-server once for the run; a run without it fails, it never skips.
    globalSetup: ['test/emulator.setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
