import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ftmError } from '../errors.js';

/** Largest single read: fs.readFile and one readSync stop at 2 GiB, so big files come in pieces. */
const CHUNK = 1 << 30;

/** Reads `length` bytes at `offset` of an open file, in chunks. */
export function readRange(fd: number, offset: number, length: number, file: string): Uint8Array {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, Math.min(CHUNK, length - done), offset + done);
    if (n === 0) throw ftmError('E_FILE_UNREADABLE', `expected ${length} bytes at offset ${offset}, the file ends after ${offset + done}`, file);
    done += n;
  }
  return out;
}

/** Reads a whole file of any size, with the errors a user can act on (missing, a directory, empty, unreadable). */
export function readWholeFile(file: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw openError(e, file);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw ftmError('E_FILE_IS_DIRECTORY', 'expected an ONNX model file, found a directory', file);
    if (stat.size === 0) throw ftmError('E_FILE_EMPTY', 'the file is empty (0 bytes), expected an ONNX model', file);
    return readRange(fd, 0, stat.size, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw ftmError('E_FILE_IS_DIRECTORY', 'expected an ONNX model file, found a directory', file);
    throw e;
  } finally {
    closeSync(fd);
  }
}

export function openError(e: unknown, file: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return ftmError('E_FILE_NOT_FOUND', 'no such file', file);
  if (code === 'EISDIR') return ftmError('E_FILE_IS_DIRECTORY', 'expected a file, found a directory', file);
  return ftmError('E_FILE_UNREADABLE', `cannot read the file (${code ?? String(e)})`, file);
}
