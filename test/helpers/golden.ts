import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';

/**
 * Compares text with a golden file. UPDATE=1 rewrites the file; never in CI, where a missing golden is a failure.
 */
export function expectGolden(path: string, actual: string): void {
  if (process.env.UPDATE === '1' && process.env.CI !== 'true') {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`golden file ${path} is missing: run the test with UPDATE=1 to create it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}
