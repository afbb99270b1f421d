import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ftmError } from '../errors.js';

/**
 * Writes a text file atomically: a temporary file beside it, then a rename, so a reader (a CI step, a later stage)
 * never sees half a report, and a failure leaves the previous file as it was.
 */
export function writeTextAtomic(path: string, text: string): void {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temp, text, { flush: true });
    renameSync(temp, target);
  } catch (e) {
    rmSync(temp, { force: true });
    throw ftmError('E_OUTPUT_UNWRITABLE', `cannot write the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
}
