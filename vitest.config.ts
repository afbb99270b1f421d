import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; tests run them against the source.
    alias: { 'ftm-compress': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts', 'rewrites/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 60_000,
    // Tests run onnxruntime sessions that use every core; running files one at a time keeps them from fighting.
    fileParallelism: false,
  },
});
