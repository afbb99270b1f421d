import { writeOutputs } from '../output/transaction.js';

/**
 * Writes a text file atomically: a temporary file beside it, then a rename, so a reader (a CI step, a later stage)
 * never sees half a report, and a failure leaves the previous file as it was.
 */
export function writeTextAtomic(path: string, text: string): void {
  writeOutputs([{ path, what: 'file', data: text }]);
}
