import { expect } from 'vitest';
import { FtmError } from '../../src/index.js';

/** Asserts that `f` throws an FtmError with this code, and returns it. */
export function expectCode(f: () => unknown, code: string): FtmError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FtmError);
    expect((e as FtmError).code).toBe(code);
    return e as FtmError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

/** The same for a promise-returning `f`. */
export async function expectCodeAsync(f: () => Promise<unknown>, code: string): Promise<FtmError> {
  const e = await f().then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(FtmError);
  expect((e as FtmError).code).toBe(code);
  return e as FtmError;
}
