import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'rewrites/**/*.test.ts'],
    testTimeout: 60_000,
    // Tests run onnxruntime sessions that use every core; running files one at a time keeps them from fighting.
    fileParallelism: false,
  },
});
