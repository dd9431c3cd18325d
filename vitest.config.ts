import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Never let a test reach a cloud metadata endpoint: no AWS is reachable here.
    env: { AWS_EC2_METADATA_DISABLED: 'true' },
    // Docker end-to-end tests share one daemon; run files one at a time to keep them predictable on 2 cores.
    fileParallelism: false,
  },
});
