import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ftmError } from '../errors.js';

/** A file to write: its path, what it is (for messages) and its bytes (text is written as UTF-8). */
export interface OutputFile {
  path: string;
  what: string;
  data: string | Uint8Array | Uint8Array[];
}

/** A name beside `path` that no other file or process uses: hidden, with the process id and a random part. */
export function temporaryName(path: string, kind: string): string {
  return `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.${kind}`;
}

/**
 * Writes the files of one result (a model, its external data, its reports) as one transaction: each goes to a
 * temporary file beside its target first, then all are renamed into place. If any write or rename fails, the targets
 * already replaced get their previous content back (or are removed if they did not exist) and every temporary file
 * is removed: the result is there whole, or not at all. It is synchronous on purpose: a signal handler (src/cli.ts)
 * runs before it starts or after it ends, never in between.
 */
export function writeOutputs(files: OutputFile[]): void {
  const staged: { file: OutputFile; target: string; temp: string }[] = [];
  const placed: { target: string; backup?: string }[] = [];
  let current: OutputFile | undefined;
  try {
    for (const file of files) {
      current = file;
      const target = resolve(file.path);
      staged.push({ file, target, temp: writeTemporary(target, file.data) });
    }
    for (const { file, target, temp } of staged) {
      current = file;
      const backup = existsSync(target) ? keepPrevious(target) : undefined;
      placed.push({ target, backup });
      renameSync(temp, target);
    }
  } catch (e) {
    for (const { target, backup } of placed.reverse()) restore(target, backup);
    for (const { temp } of staged) discard(temp);
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    const others = files.length > 1 ? ` (nothing was written: ${files.map((f) => f.what).join(', ')})` : ' (nothing was written)';
    throw ftmError('E_OUTPUT_UNWRITABLE', `cannot write the ${current?.what ?? 'output'}: ${code}${others}`, current?.path);
  }
  for (const { backup } of placed) if (backup) discard(backup);
}

function writeTemporary(target: string, data: OutputFile['data']): string {
  const temp = join(dirname(target), temporaryName(target, 'tmp'));
  try {
    const fd = openSync(temp, 'wx');
    try {
      const chunks = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Array.isArray(data) ? data : [data];
      for (const c of chunks) {
        // One write call takes at most 2 GiB.
        for (let done = 0; done < c.length; ) done += writeSync(fd, c, done, Math.min(c.length - done, 1 << 30));
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    discard(temp);
    throw e;
  }
  return temp;
}

/** A second name for the file about to be replaced (a hard link; a copy where links are not allowed). */
function keepPrevious(target: string): string {
  const backup = join(dirname(target), temporaryName(target, 'previous'));
  try {
    linkSync(target, backup);
  } catch {
    try {
      copyFileSync(target, backup);
    } catch (e) {
      discard(backup);
      throw e;
    }
  }
  return backup;
}

function restore(target: string, backup: string | undefined): void {
  try {
    if (backup) renameSync(backup, target);
    else rmSync(target, { force: true });
  } catch {
    // Best effort: the error being reported is the write that failed.
  }
}

function discard(path: string): void {
  rmSync(path, { force: true });
}
